package database_test

import (
	"context"
	"testing"

	"maunium.net/go/mautrix/bridgev2/networkid"

	"github.com/imbridge/imbridge/database"
)

func TestCursorList(t *testing.T) {
	for name, openDB := range openers(t) {
		t.Run(name, func(t *testing.T) {
			own, _ := setup(t, openDB(t))
			ctx := context.Background()
			const alice, bob = networkid.UserLoginID("lync.alice@corp"), networkid.UserLoginID("lync.bob@corp")
			for stream, value := range map[string]string{
				"skype.sent:b":   "2",
				"skype.sent:a":   "1",
				"skype.sentx":    "no colon",
				"SKYPE.SENT:c":   "other case",
				"skype.catch-up": "cursor",
				"a_b%:1":         "literal",
				"axbyz:1":        "wildcards would match",
				`a\b:1`:          "backslash",
			} {
				must(t, own.Cursor.Put(ctx, alice, stream, value))
			}
			must(t, own.Cursor.Put(ctx, bob, "skype.sent:z", "bob's"))

			check := func(prefix string, want ...database.Cursor) {
				t.Helper()
				got, err := own.Cursor.List(ctx, alice, prefix)
				if err != nil {
					t.Fatalf("List(%q): %v", prefix, err)
				}
				if len(got) != len(want) {
					t.Fatalf("List(%q) = %+v; want %+v", prefix, got, want)
				}
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("List(%q) = %+v; want %+v", prefix, got, want)
					}
				}
			}
			check("skype.sent:", database.Cursor{Stream: "skype.sent:a", Cursor: "1"}, database.Cursor{Stream: "skype.sent:b", Cursor: "2"})
			check("a_b%:", database.Cursor{Stream: "a_b%:1", Cursor: "literal"})
			check(`a\b`, database.Cursor{Stream: `a\b:1`, Cursor: "backslash"})
			check("teams.")
			if got, err := own.Cursor.List(ctx, bob, ""); err != nil || len(got) != 1 || got[0].Cursor != "bob's" {
				t.Fatalf("bob's rows = %+v, %v; want only his one", got, err)
			}
		})
	}
}
