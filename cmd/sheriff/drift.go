package main

import (
	"context"
	"io"

	"github.com/wikimedia/sheriff/internal/drift"
)

func cmdDrift(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	return drift.Main(ctx, args, stdout, stderr)
}
