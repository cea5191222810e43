// Command ucwa-emulator serves the Skype for Business UCWA emulator for
// manual testing and demos.
//
//	ucwa-emulator -listen 127.0.0.1:8443 \
//	  -users 'alice@contoso.com,secret,Alice Example;bob@contoso.com,secret,Bob Example' \
//	  -echo echo@contoso.com
//
// Without -tls-cert/-tls-key it serves plain HTTP, so clients must allow
// insecure URLs. Every user has every other user as a contact.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/imbridge/imbridge/connectors/lync/ucwaemu"
)

type userSpec struct{ addr, password, name string }

// parseUsers reads "address,password,Display Name" entries separated by
// ";" or newlines; blank lines and lines starting with # are skipped.
func parseUsers(spec string) ([]userSpec, error) {
	var out []userSpec
	for _, entry := range strings.FieldsFunc(spec, func(r rune) bool { return r == ';' || r == '\n' }) {
		entry = strings.TrimSpace(entry)
		if entry == "" || strings.HasPrefix(entry, "#") {
			continue
		}
		parts := strings.SplitN(entry, ",", 3)
		if len(parts) < 2 {
			return nil, fmt.Errorf("user entry %q: want address,password[,Display Name]", strings.SplitN(entry, ",", 2)[0])
		}
		u := userSpec{addr: strings.TrimSpace(parts[0]), password: parts[1]}
		if len(parts) == 3 {
			u.name = strings.TrimSpace(parts[2])
		}
		out = append(out, u)
	}
	return out, nil
}

// loadUsers accepts a file name or an inline list.
func loadUsers(v string) ([]userSpec, error) {
	if data, err := os.ReadFile(v); err == nil {
		return parseUsers(string(data))
	}
	return parseUsers(v)
}

func run() error {
	listen := flag.String("listen", "127.0.0.1:8443", "address to listen on")
	usersFlag := flag.String("users", "alice@contoso.com,alice,Alice Example;bob@contoso.com,bob,Bob Example", "users: a file or inline 'address,password,Name;...'")
	echo := flag.String("echo", "", "address of an emulated colleague that echoes every IM (empty: none)")
	certFile := flag.String("tls-cert", "", "TLS certificate (PEM); with -tls-key serves HTTPS")
	keyFile := flag.String("tls-key", "", "TLS key (PEM)")
	pollTimeout := flag.Duration("poll-timeout", 180*time.Second, "how long idle event requests are held")
	omitEmbedded := flag.String("omit-embedded", "", "event link rels sent without _embedded, comma-separated ('*': every event), as real servers may")
	linkApp := flag.Bool("link-application-resources", false, "link the application's me/people/communication instead of embedding them")
	localParticipant := flag.String("local-participant", "me", "how the user's own participant is listed: me (a real server's shape, seed 002), local, uri, or empty (left out)")
	flag.Parse()

	users, err := loadUsers(*usersFlag)
	if err != nil {
		return err
	}
	opts := ucwaemu.Options{PollTimeout: *pollTimeout, MinPollTimeout: min(*pollTimeout, 180*time.Second),
		LinkApplicationResources: *linkApp, LocalParticipant: *localParticipant}
	if *omitEmbedded != "" {
		for _, rel := range strings.Split(*omitEmbedded, ",") {
			opts.OmitEventEmbedded = append(opts.OmitEventEmbedded, strings.TrimSpace(rel))
		}
		opts.OmitMessageEmbedded = true
	}
	emu := ucwaemu.New(opts)
	defer emu.Close()
	for _, u := range users {
		if err := emu.AddUser(u.addr, u.name, u.password); err != nil {
			return err
		}
	}
	if *echo != "" {
		if err := emu.AddUser(*echo, "Echo Bot", ""); err != nil {
			return err
		}
		if err := emu.Peer(*echo).SetAutoReply(func(text string) string { return "echo: " + text }); err != nil {
			return err
		}
		users = append(users, userSpec{addr: *echo})
	}
	for _, a := range users {
		for _, b := range users {
			if a.addr != b.addr {
				if err := emu.AddContact(a.addr, b.addr); err != nil {
					return err
				}
			}
		}
	}

	srv := &http.Server{Addr: *listen, Handler: emu, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() {
		scheme := "http"
		var err error
		if *certFile != "" && *keyFile != "" {
			scheme = "https"
			log.Printf("UCWA emulator on %s://%s/ with %d users", scheme, *listen, len(users))
			err = srv.ListenAndServeTLS(*certFile, *keyFile)
		} else {
			log.Printf("UCWA emulator on %s://%s/ with %d users", scheme, *listen, len(users))
			err = srv.ListenAndServe()
		}
		errc <- err
	}()
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	case <-ctx.Done():
	}
	emu.Close() // release held event requests so Shutdown does not wait for them
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}
