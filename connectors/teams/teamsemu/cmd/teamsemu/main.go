// Command teamsemu runs the Teams emulator standalone (the demo, manual
// testing): every service on one HTTP listener, optionally seeded with a
// demo organisation whose colleagues answer, react and type.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/imbridge/imbridge/connectors/teams/teamsemu"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:29330", "address to listen on")
	demo := flag.Bool("demo", true, "seed the demo organisation and scripted colleagues")
	gzipBodies := flag.Bool("gzip", false, "send Trouter bodies gzip-compressed")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// live stays nil while seeding so the colleagues do not answer history.
	var live atomic.Pointer[teamsemu.Emulator]
	opts := teamsemu.Options{GzipDeliveries: *gzipBodies}
	if *demo {
		opts.OnMessage = teamsemu.Colleagues(ctx, live.Load, "demo@contoso.com", "demo@outlook.com")
	}
	emu := teamsemu.New(opts)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(1)
	}
	base := "http://" + ln.Addr().String()
	emu.SetBaseURL(base)
	if *demo {
		d := emu.SeedDemo()
		live.Store(emu)
		fmt.Printf("demo accounts: %s (%s), %s (%s)\n", d.Work.Email, d.Work.MRI, d.Consumer.Email, d.Consumer.MRI)
	}
	fmt.Printf("Teams emulator on %s\n", base)
	fmt.Printf("approve a sign-in: curl -d user_code=<CODE> -d email=demo@contoso.com %s/_emu/devicelogin\n", base)
	srv := &http.Server{Handler: emu.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
		emu.Close()
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(1)
	}
}
