package main

import (
	"context"
	"fmt"
	"io"
	"runtime"

	"github.com/wikimedia/sheriff/internal/app"
)

func cmdVersion(_ context.Context, _ []string, _ io.Reader, stdout, _ io.Writer) int {
	fmt.Fprintf(stdout, "sheriff %s (%s %s/%s)\n", app.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return 0
}
