// Package ircd starts real IRC servers on loopback for tests: ngIRCd for
// plain connection tests, and InspIRCd linked to Atheme services for tests
// that need NickServ accounts and SASL, as on Libera.Chat.
//
// Servers are Debian packages (see .ci/run). A test that needs one calls the
// constructor, which skips the test with a clear message when the binary is
// not installed. Each server gets a random free port and a configuration in
// a temporary directory, and is killed when the test ends.
package ircd

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Server is one IRC server process (plus its services, if any).
type Server struct {
	Host string
	Port int
	// Network is the network name the server advertises.
	Network string

	tb    testing.TB
	dir   string
	procs []*proc
}

// proc is a restartable child process.
type proc struct {
	name string
	bin  string
	args []string
	dir  string
	// ready reports whether the process is up; nil means "port accepts".
	ready func() error

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	out  *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 4<<20 { // bound memory if a server logs a lot
		s.b.Reset()
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Require skips tb unless every named binary is installed, and returns
// their paths.
func Require(tb testing.TB, bins ...string) []string {
	tb.Helper()
	var paths []string
	for _, b := range bins {
		p, err := lookPath(b)
		if err != nil {
			tb.Skipf("%s is not installed (apt-get install -y ngircd inspircd atheme-services): %v", b, err)
		}
		paths = append(paths, p)
	}
	return paths
}

// lookPath also searches the sbin directories, which are not on every
// user's PATH.
func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found in PATH or sbin", name)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("ircd: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Addr is host:port of the client listener.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Dir is the server's temporary directory (configuration and logs).
func (s *Server) Dir() string { return s.dir }

// Log returns everything the server processes printed so far.
func (s *Server) Log() string {
	var b bytes.Buffer
	for _, p := range s.procs {
		fmt.Fprintf(&b, "==== %s\n%s\n", p.name, p.out.String())
	}
	return b.String()
}

// Kill stops all processes abruptly (SIGKILL), as a crash would, and waits
// until they are gone.
func (s *Server) Kill() {
	s.tb.Helper()
	for i := len(s.procs) - 1; i >= 0; i-- {
		s.procs[i].kill()
	}
}

// Start (re)starts the processes and waits until they accept connections.
func (s *Server) Start() {
	s.tb.Helper()
	for _, p := range s.procs {
		if err := p.start(); err != nil {
			s.Kill()
			s.tb.Fatalf("ircd: start %s: %v\n%s", p.name, err, s.Log())
		}
	}
}

// Restart is Kill then Start.
func (s *Server) Restart() {
	s.tb.Helper()
	s.Kill()
	s.Start()
}

func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return fmt.Errorf("already running")
	}
	cmd := exec.Command(p.bin, p.args...)
	cmd.Dir = p.dir
	cmd.Stdout = p.out
	cmd.Stderr = p.out
	// Own process group, so that a test's Ctrl-C does not reach it first
	// and kill sends nothing to unrelated processes.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	var werr error
	go func() { werr = cmd.Wait(); close(done) }()
	p.cmd, p.done = cmd, done
	deadline := time.Now().Add(20 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		select {
		case <-done:
			p.cmd = nil
			return fmt.Errorf("exited during start-up: %v", werr)
		default:
		}
		if err = p.ready(); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("not ready after 20s: %v", err)
}

func (p *proc) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
	p.cmd = nil
}

func portReady(addr string) func() error {
	return func() error {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return err
		}
		return c.Close()
	}
}

func newServer(tb testing.TB) *Server {
	s := &Server{Host: "127.0.0.1", tb: tb, dir: tb.TempDir()}
	// Servers started as root drop privileges; let them read their files.
	_ = os.Chmod(s.dir, 0o755)
	tb.Cleanup(func() {
		s.Kill()
		if tb.Failed() {
			tb.Logf("ircd logs:\n%s", s.Log())
		}
	})
	return s
}

func (s *Server) add(p *proc) {
	p.out = &syncBuffer{}
	p.dir = s.dir
	s.procs = append(s.procs, p)
}

func writeFile(tb testing.TB, path, content string) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		tb.Fatalf("ircd: %v", err)
	}
}

// Ngircd starts an ngIRCd on a free loopback port. It skips tb when ngircd
// is not installed.
func Ngircd(tb testing.TB) *Server {
	tb.Helper()
	bin := Require(tb, "ngircd")[0]
	s := newServer(tb)
	s.Port = FreePort(tb)
	s.Network = "SheriffTest"
	conf := filepath.Join(s.dir, "ngircd.conf")
	writeFile(tb, conf, fmt.Sprintf(`[Global]
	Name = irc.sheriff.test
	Info = sheriff test server
	Network = %s
	AdminInfo1 = sheriff tests
	AdminInfo2 = loopback
	AdminEMail = nobody@invalid
	Listen = 127.0.0.1
	Ports = %d
	MotdPhrase = sheriff test server
	PidFile = %s
[Limits]
	MaxPenaltyTime = 0
	MaxConnectionsIP = 0
	MaxJoins = 0
	MaxNickLength = 30
	PingTimeout = 120
	PongTimeout = 20
	ConnectRetry = 5
[Options]
	DNS = no
	Ident = no
	PAM = no
	OperCanUseMode = yes
[Operator]
	Name = oper
	Password = operpass
`, s.Network, s.Port, filepath.Join(s.dir, "ngircd.pid")))
	s.add(&proc{name: "ngircd", bin: bin, args: []string{"-n", "-f", conf}, ready: portReady(s.Addr())})
	s.Start()
	return s
}

// InspircdAtheme starts an InspIRCd with the IRCv3 account capabilities
// (account-notify, account-tag, extended-join, SASL) linked to Atheme
// services (NickServ, SaslServ), as on Libera.Chat. It skips tb when either
// is not installed, and returns once NickServ is on the network.
func InspircdAtheme(tb testing.TB) *Server {
	tb.Helper()
	bins := Require(tb, "inspircd", "atheme-services")
	s := newServer(tb)
	s.Port = FreePort(tb)
	s.Network = "SheriffTest"
	linkPort := FreePort(tb)
	const linkPass = "sheriff-test-link"
	writeFile(tb, filepath.Join(s.dir, "motd.txt"), "sheriff test server\n")
	insp := filepath.Join(s.dir, "inspircd.conf")
	writeFile(tb, insp, fmt.Sprintf(`<config format="xml">
<server name="irc.sheriff.test" description="sheriff test server" network="%[1]s">
<admin name="sheriff tests" nick="admin" email="nobody@invalid">
<bind address="127.0.0.1" port="%[2]d" type="clients">
<bind address="127.0.0.1" port="%[3]d" type="servers">
<connect name="main" allow="*" timeout="60" pingfreq="120" hardsendq="1M" softsendq="1M" recvq="65536"
	threshold="1000" commandrate="100000" fakelag="no" localmax="1000" globalmax="1000" useident="no"
	resolvehostnames="no" limit="5000" maxchans="50">
<files motd="%[4]s/motd.txt">
<pid file="%[4]s/inspircd.pid">
<options prefixquit="Quit: " syntaxhints="no" defaultmodes="nt">
<security hidesplits="no" hideulines="no" maxtargets="20" genericoper="no">
<performance netbuffersize="10240" somaxconn="128" softlimit="1024" clonesonconnect="no" quietbursts="yes">
<limits maxnick="30" maxchan="64" maxmodes="20" maxident="10" maxhost="64" maxquit="255" maxtopic="307" maxkick="255" maxreal="128" maxaway="200">
<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" target="%[4]s/inspircd.log">
<dns server="127.0.0.1" timeout="1">
<module name="spanningtree">
<module name="services_account">
<module name="sasl">
<module name="cap">
<module name="ircv3">
<module name="ircv3_accounttag">
<module name="ircv3_capnotify">
<module name="chghost">
<module name="chgident">
<module name="chgname">
<module name="servprotect">
<module name="hidechans">
<module name="globops">
<module name="svshold">
<module name="sajoin">
<module name="sapart">
<module name="sanick">
<module name="topiclock">
<uline server="services.sheriff.test" silent="yes">
<link name="services.sheriff.test" ipaddr="127.0.0.1" port="%[3]d" allowmask="127.0.0.0/8" sendpass="%[5]s" recvpass="%[5]s">
<sasl target="services.sheriff.test">
`, s.Network, s.Port, linkPort, s.dir, linkPass))
	ath := filepath.Join(s.dir, "atheme.conf")
	writeFile(tb, ath, fmt.Sprintf(`loadmodule "modules/protocol/inspircd";
loadmodule "modules/backend/opensex";
loadmodule "modules/crypto/pbkdf2v2";
loadmodule "modules/nickserv/main";
loadmodule "modules/nickserv/help";
loadmodule "modules/nickserv/identify";
loadmodule "modules/nickserv/info";
loadmodule "modules/nickserv/logout";
loadmodule "modules/nickserv/register";
loadmodule "modules/saslserv/main";
loadmodule "modules/saslserv/plain";
serverinfo {
	name = "services.sheriff.test";
	desc = "Atheme IRC Services";
	numeric = "00A";
	recontime = 1;
	netname = "%[1]s";
	hidehostsuffix = "users.sheriff.test";
	adminname = "sheriff tests";
	adminemail = "nobody@invalid";
	registeremail = "nobody@invalid";
	loglevel = { error; info; admin; network; };
	maxlogins = 5;
	maxusers = 5;
	mdlimit = 30;
	emaillimit = 10;
	emailtime = 300;
	auth = none;
	casemapping = rfc1459;
};
uplink "irc.sheriff.test" {
	host = "127.0.0.1";
	send_password = "%[3]s";
	receive_password = "%[3]s";
	port = %[2]d;
};
nickserv {
	nick = "NickServ";
	user = "NickServ";
	host = "services.sheriff.test";
	real = "Nickname Services";
	maxnicks = 5;
	expire = 30;
};
saslserv {
	nick = "SaslServ";
	user = "SaslServ";
	host = "services.sheriff.test";
	real = "SASL Authentication Agent";
};
general {
	flood_msgs = 1000;
	flood_time = 10;
	ratelimit_uses = 1000;
	ratelimit_period = 60;
	kline_time = 7;
	commit_interval = 5;
	uplink_sendq_limit = 1048576;
	language = "en";
	immune_level = immune;
};
`, s.Network, linkPort, linkPass))
	s.add(&proc{name: "inspircd", bin: bins[0],
		args:  []string{"--nofork", "--runasroot", "--config=" + insp},
		ready: portReady(s.Addr())})
	s.add(&proc{name: "atheme", bin: bins[1],
		args:  []string{"-n", "-c", ath, "-D", s.dir, "-l", filepath.Join(s.dir, "atheme.log"), "-p", filepath.Join(s.dir, "atheme.pid")},
		ready: nickServReady(s.Addr())})
	s.Start()
	return s
}

// nickServReady reports whether NickServ is on the network at addr.
func nickServReady(addr string) func() error {
	return func() error {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return err
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(conn, "NICK probe%d\r\nUSER probe 0 * :readiness probe\r\n", time.Now().UnixNano()%100000)
		r := bufio.NewReader(conn)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return err
			}
			f := strings.Fields(line)
			switch {
			case len(f) >= 2 && f[0] == "PING":
				fmt.Fprintf(conn, "PONG %s\r\n", f[1])
			case len(f) >= 2 && (f[1] == "376" || f[1] == "422"):
				fmt.Fprintf(conn, "WHOIS NickServ\r\n")
			case len(f) >= 2 && f[1] == "311":
				fmt.Fprintf(conn, "QUIT\r\n")
				return nil
			case len(f) >= 2 && f[1] == "401":
				return fmt.Errorf("NickServ not on the network yet")
			}
		}
	}
}
