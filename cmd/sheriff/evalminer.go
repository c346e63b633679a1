package main

import (
	"context"
	"io"

	"github.com/wikimedia/sheriff/internal/miner"
)

func cmdEvalMiner(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	return miner.EvalMain(ctx, args, stdout, stderr)
}
