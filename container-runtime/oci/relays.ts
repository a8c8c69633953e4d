// Small relay processes for what Node cannot do itself, written in Perl because perl-base is an Essential
// package on Debian (always installed, nothing to add to scripts/setup.sh) and its Socket module has both
// SOCK_SEQPACKET and select(2).
//
// Attach: conmon serves a container's stdio on a unix socket named `attach` in the bundle, of type SOCK_SEQPACKET,
// which Node's net module cannot open. Each packet conmon sends is one read of the container's output prefixed by
// a byte naming the stream (2 stdout, 3 stderr: conmon's pipe numbers, 1 being stdin); what a client writes goes to the container's stdin as is, and the
// client's shutdown(SHUT_WR) makes conmon close that stdin unless it runs with --leave-stdin-open. A relay that
// only copied bytes (socat) would merge packets and lose the stream byte's place; this one keeps packet
// boundaries and demultiplexes: the container's stdout on its stdout, stderr on its stderr, its own stdin to the
// socket. Its exit code is 0 when conmon closed the socket (the container exited), and on failure it writes the
// reason on fd 3, so that nothing of its own is mistaken for the container's output. Alternatives weighed:
// following the log file for output gives no input path (conmon's stdin pipe is reachable only through this
// socket); socat is not installed by default and loses the packet framing.
//
// Port-forward: Kubernetes forwards to localhost inside the pod's network namespace, which a process enters with
// setns(2), which Node cannot call. `nsenter --net=<netns>` runs this relay there: it connects to 127.0.0.1:<port>
// and copies bytes both ways (its stdin's end half-closes the connection), exits 0 when the pod side closes, and
// otherwise says why on stderr (the error channel's text). Perl starts in a few milliseconds; a node relay would
// cost ~40 ms and 40 MB per connection.
import { spawn, type ChildProcess } from "node:child_process";

/** conmon's attach socket's name in the bundle; opened relative to the bundle, as its full path may pass 108 bytes. */
export const ATTACH_SOCKET = "attach";

const ATTACH_RELAY = String.raw`
use strict; use warnings; use Socket;
my ($dir, $with_stdin) = @ARGV;
open(my $report, '>&=', 3) or exit 4;
sub fail { print $report "$_[0]\n"; exit 3; }
chdir($dir) or fail("no container bundle $dir: $!");
socket(my $s, AF_UNIX, SOCK_SEQPACKET, 0) or fail("socket: $!");
connect($s, pack_sockaddr_un("attach")) or fail("cannot connect to conmon's attach socket: $!");
binmode($s); binmode(STDIN); binmode(STDOUT); binmode(STDERR);
sub put { my ($fh, $data) = @_; while (length $data) { my $n = syswrite($fh, $data); exit 0 unless defined $n; substr($data, 0, $n) = ''; } }
my $stdin_open = $with_stdin eq '1';
while (1) {
  my $rin = ''; vec($rin, fileno($s), 1) = 1; vec($rin, fileno(STDIN), 1) = 1 if $stdin_open;
  my $n = select(my $rout = $rin, undef, undef, undef);
  next if $n < 0 && $!{EINTR};
  fail("select: $!") if $n < 0;
  if (vec($rout, fileno($s), 1)) {
    my $got = sysread($s, my $packet, 65536);
    last unless $got;
    put(ord(substr($packet, 0, 1)) == 3 ? \*STDERR : \*STDOUT, substr($packet, 1));
  }
  if ($stdin_open && vec($rout, fileno(STDIN), 1)) {
    my $got = sysread(STDIN, my $data, 8192);
    if ($got) { defined(send($s, $data, 0)) or fail("write to the attach socket: $!"); }
    else { shutdown($s, 1); $stdin_open = 0; }
  }
}
exit 0;
`;

const PORT_RELAY = String.raw`
use strict; use warnings; use Socket;
my $port = $ARGV[0];
socket(my $s, PF_INET, SOCK_STREAM, 0) or do { print STDERR "socket: $!\n"; exit 1 };
connect($s, pack_sockaddr_in($port, inet_aton('127.0.0.1'))) or do { print STDERR "dial tcp4 127.0.0.1:$port: $!\n"; exit 1 };
binmode($s); binmode(STDIN); binmode(STDOUT);
sub put { my ($fh, $data) = @_; while (length $data) { my $n = syswrite($fh, $data); exit 0 unless defined $n; substr($data, 0, $n) = ''; } }
my $stdin_open = 1;
while (1) {
  my $rin = ''; vec($rin, fileno($s), 1) = 1; vec($rin, fileno(STDIN), 1) = 1 if $stdin_open;
  my $n = select(my $rout = $rin, undef, undef, undef);
  next if $n < 0 && $!{EINTR};
  if ($n < 0) { print STDERR "select: $!\n"; exit 1 }
  if (vec($rout, fileno($s), 1)) {
    my $got = sysread($s, my $data, 65536);
    if (!defined $got) { print STDERR "read tcp4 127.0.0.1:$port: $!\n"; exit 1 }
    last if $got == 0;
    put(\*STDOUT, $data);
  }
  if ($stdin_open && vec($rout, fileno(STDIN), 1)) {
    my $got = sysread(STDIN, my $data, 65536);
    if ($got) { put($s, $data); } else { shutdown($s, 1); $stdin_open = 0; }
  }
}
exit 0;
`;

/**
 * Starts the attach relay for the container whose bundle is `bundleDir`: stdio as described above, fd 3 a pipe
 * carrying its failure reason. With `stdin` false it never reads its stdin and never half-closes the socket.
 */
export function spawnAttachRelay(bundleDir: string, stdin: boolean, perlPath = "perl"): ChildProcess {
  return spawn(perlPath, ["-e", ATTACH_RELAY, bundleDir, stdin ? "1" : "0"], { stdio: ["pipe", "pipe", "pipe", "pipe"] });
}

/** Starts the port relay to 127.0.0.1:`port` in the network namespace at `netnsPath`. */
export function spawnPortRelay(netnsPath: string, port: number, perlPath = "perl", nsenterPath = "nsenter"): ChildProcess {
  return spawn(nsenterPath, [`--net=${netnsPath}`, "--", perlPath, "-e", PORT_RELAY, String(port)], { stdio: ["pipe", "pipe", "pipe"] });
}
