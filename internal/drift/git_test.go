package drift

import (
	"os"
	"path/filepath"
	"testing"
)

func TestGitRevision(t *testing.T) {
	const sha = "d3590882967af82c73dec71ad2ea7228dbf048f9"
	write := func(path, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	loose := t.TempDir()
	write(filepath.Join(loose, ".git/HEAD"), "ref: refs/heads/production\n")
	write(filepath.Join(loose, ".git/refs/heads/production"), sha+"\n")

	packed := t.TempDir()
	write(filepath.Join(packed, ".git/HEAD"), "ref: refs/heads/master\n")
	write(filepath.Join(packed, ".git/packed-refs"), "# pack-refs with: peeled fully-peeled sorted\n"+sha+" refs/heads/master\n")

	detached := t.TempDir()
	write(filepath.Join(detached, ".git/HEAD"), sha+"\n")

	worktree := t.TempDir()
	write(filepath.Join(worktree, ".git"), "gitdir: "+filepath.Join(loose, ".git")+"\n")

	for name, dir := range map[string]string{"loose": loose, "packed": packed, "detached": detached, "worktree": worktree} {
		if got := gitRevision(dir); got != sha {
			t.Errorf("%s: %q", name, got)
		}
	}
	if got := gitRevision(t.TempDir()); got != "" {
		t.Errorf("not a checkout: %q", got)
	}
}
