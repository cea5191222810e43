package bridgekit

import (
	"context"
	"fmt"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/bridgev2"
)

// SecretUndeletableWarning is shown when the message holding a typed
// password or token stays in the room.
const SecretUndeletableWarning = "⚠️ I could not delete your message with the %s: I have no power to remove messages in this room. Please delete it yourself."

// SecretRedactable tells whether the bridge bot may redact the user's
// messages in their management room, where a password or token is typed.
// bridgev2 tries to redact such a message and only logs a failure; a DM the
// user created themselves gives the bot no power to do it.
func SecretRedactable(ctx context.Context, br *bridgev2.Bridge, user *bridgev2.User) bool {
	if user == nil || user.ManagementRoom == "" {
		return true
	}
	pl, err := br.Matrix.GetPowerLevels(ctx, user.ManagementRoom)
	if err != nil || pl == nil {
		zerolog.Ctx(ctx).Debug().Err(err).Msg("Cannot read the management room's power levels")
		return true
	}
	return pl.GetUserLevel(br.Bot.GetMXID()) >= pl.Redact()
}

// WarnIfSecretStays adds the warning to a login step's instructions (or
// its error) when the message holding what (a password, a token) cannot be
// deleted by the bot.
func WarnIfSecretStays(ctx context.Context, br *bridgev2.Bridge, user *bridgev2.User, what string, step *bridgev2.LoginStep, err error) (*bridgev2.LoginStep, error) {
	if SecretRedactable(ctx, br, user) {
		return step, err
	}
	warning := fmt.Sprintf(SecretUndeletableWarning, what)
	if err != nil {
		return nil, fmt.Errorf("%w\n\n%s", err, warning)
	}
	if step != nil {
		step.Instructions = warning + "\n\n" + step.Instructions
	}
	return step, nil
}
