package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestWaitStartFileWakesOnTheRename: a waiter blocked on the folder's
// watch reads the start file as soon as it is renamed into place (well
// before its 50 ms look at a quiet folder), and gives up with its
// context's cause.
func TestWaitStartFileWakesOnTheRename(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "start")
	got := make(chan time.Time, 1)
	go func() {
		n, err := waitStartFile(context.Background(), "--start-file", path, 10*time.Second)
		if err != nil || n != 12345 {
			t.Errorf("got %d, %v; want 12345", n, err)
		}
		got <- time.Now()
	}()
	time.Sleep(100 * time.Millisecond) // the waiter is in its watch
	if err := os.WriteFile(path+".tmp", []byte("12345\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
	select {
	case woke := <-got:
		if d := woke.Sub(at); d > 40*time.Millisecond {
			t.Logf("woke %v after the rename (a loaded machine?)", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiter did not read the start file")
	}

	cause := errors.New("stopped")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(cause)
	if _, err := waitStartFile(ctx, "--start-file", filepath.Join(dir, "never"), 10*time.Second); !errors.Is(err, cause) {
		t.Fatalf("got %v, want the context's cause", err)
	}
}
