package bridge

import (
	"time"

	"maunium.net/go/mautrix/bridgev2"

	"github.com/imbridge/imbridge/bridge/ids"
	"github.com/imbridge/imbridge/bridge/protocol"
)

// GetCapabilities merges the enabled protocols' general capabilities. bridgev2
// reads them as one bridge-wide value, so every field is the union of what any
// protocol needs; TestCapabilityMergeCoversEveryField fails when bridgev2 adds
// a field this merge does not know.
func (c *Connector) GetCapabilities() *bridgev2.NetworkGeneralCapabilities {
	var all []protocolCaps
	for _, p := range c.enabled() {
		all = append(all, protocolCaps{p.ID(), p.GeneralCapabilities()})
	}
	return mergeCapabilities(all)
}

type protocolCaps struct {
	proto ids.Protocol
	caps  *bridgev2.NetworkGeneralCapabilities
}

// protocolWantsImmediateParent is one protocol's own NetworkIsImmediateParent.
func (c *Connector) protocolWantsImmediateParent(p ids.Protocol) bool {
	proto := c.protocols[p]
	if proto == nil {
		return false
	}
	caps := proto.GeneralCapabilities()
	return caps != nil && caps.NetworkIsImmediateParent
}

func mergeCapabilities(all []protocolCaps) *bridgev2.NetworkGeneralCapabilities {
	merged := &bridgev2.NetworkGeneralCapabilities{}
	var timeouts []*bridgev2.OutgoingTimeoutConfig
	for _, pc := range all {
		caps := pc.caps
		if caps == nil {
			continue
		}
		// Booleans that switch a bridge-wide mechanism on: on when any
		// protocol needs it. Each costs the other protocols little:
		// DisappearingMessages starts the disappearing loop (it only acts on
		// rows with a timer); AggressiveUpdateInfo asks for user info more
		// often; ImplicitReadReceipts hands every protocol read receipts
		// marked Implicit, which one that did not ask for them ignores.
		merged.DisappearingMessages = merged.DisappearingMessages || caps.DisappearingMessages
		merged.AggressiveUpdateInfo = merged.AggressiveUpdateInfo || caps.AggressiveUpdateInfo
		merged.ImplicitReadReceipts = merged.ImplicitReadReceipts || caps.ImplicitReadReceipts
		// NetworkIsImmediateParent is also corrected per portal in
		// FillPortalBridgeInfo for protocols that did not ask for it.
		merged.NetworkIsImmediateParent = merged.NetworkIsImmediateParent || caps.NetworkIsImmediateParent
		if caps.OutgoingMessageTimeouts != nil {
			timeouts = append(timeouts, caps.OutgoingMessageTimeouts)
		}

		prov, mprov := caps.Provisioning, &merged.Provisioning
		ri, mri := prov.ResolveIdentifier, &mprov.ResolveIdentifier
		mri.CreateDM = mri.CreateDM || ri.CreateDM
		mri.LookupPhone = mri.LookupPhone || ri.LookupPhone
		mri.LookupEmail = mri.LookupEmail || ri.LookupEmail
		mri.LookupUsername = mri.LookupUsername || ri.LookupUsername
		mri.AnyPhone = mri.AnyPhone || ri.AnyPhone
		mri.ContactList = mri.ContactList || ri.ContactList
		mri.Search = mri.Search || ri.Search
		mprov.ImagePackImport = mprov.ImagePackImport || prov.ImagePackImport
		for typ, spec := range prov.GroupCreation {
			if mprov.GroupCreation == nil {
				mprov.GroupCreation = map[string]bridgev2.GroupTypeCapabilities{}
			}
			mprov.GroupCreation[protocol.GroupTypeKey(pc.proto, typ)] = spec
		}
	}
	merged.OutgoingMessageTimeouts = mergeTimeouts(timeouts)
	return merged
}

// mergeTimeouts combines the pending-message timeouts of several protocols.
// bridgev2 runs one timeout loop per portal with one bridge-wide config, so the
// merged config must never fail a send that its own protocol would still
// accept: each timeout is the longest any protocol asked for (a protocol
// without a timeout, 0, means none is enforced), and the check interval is
// the shortest, so no timeout fires much later than configured. A protocol that
// needs a shorter limit than the merged one enforces it itself (it knows its
// pending sends); protocols with no config (nil) use no pending messages and
// are not affected. The messages shown are those of the protocol whose
// timeout was chosen.
func mergeTimeouts(all []*bridgev2.OutgoingTimeoutConfig) *bridgev2.OutgoingTimeoutConfig {
	if len(all) == 0 {
		return nil
	}
	merged := *all[0]
	for _, t := range all[1:] {
		if t.CheckInterval > 0 && (merged.CheckInterval == 0 || t.CheckInterval < merged.CheckInterval) {
			merged.CheckInterval = t.CheckInterval
		}
		if merged.NoEchoTimeout != 0 && (t.NoEchoTimeout == 0 || t.NoEchoTimeout > merged.NoEchoTimeout) {
			merged.NoEchoTimeout, merged.NoEchoMessage = t.NoEchoTimeout, t.NoEchoMessage
		} else if merged.NoEchoMessage == "" {
			merged.NoEchoMessage = t.NoEchoMessage
		}
		if merged.NoAckTimeout != 0 && (t.NoAckTimeout == 0 || t.NoAckTimeout > merged.NoAckTimeout) {
			merged.NoAckTimeout, merged.NoAckMessage = t.NoAckTimeout, t.NoAckMessage
		} else if merged.NoAckMessage == "" {
			merged.NoAckMessage = t.NoAckMessage
		}
	}
	if merged.NoEchoTimeout <= 0 && merged.NoAckTimeout <= 0 {
		// Nothing to time out: no loop at all (bridgev2 starts one per portal
		// for any non-nil config).
		return nil
	}
	if merged.CheckInterval <= 0 {
		// bridgev2's ticker panics on 0.
		merged.CheckInterval = defaultTimeoutCheck
	}
	return &merged
}

// defaultTimeoutCheck is the check interval when no protocol names one.
const defaultTimeoutCheck = 10 * time.Second
