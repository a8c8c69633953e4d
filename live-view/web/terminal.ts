// A terminal in the page: xterm.js (loaded on first use from /vendor/xterm.mjs through the import map) speaking
// kubectl's exec channel protocol over /exec, which the server relays to the apiserver's pods/exec. Frames are a
// channel byte and a payload: stdin 0 and resize 4 ({"Width","Height"}) go up; stdout 1, stderr 2 and the final
// Status 3 come down.
import type { Terminal } from "@xterm/xterm";

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const STATUS = 3;
const RESIZE = 4;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function frame(channel: number, payload: string): Uint8Array {
  const body = encoder.encode(payload);
  const out = new Uint8Array(body.length + 1);
  out[0] = channel;
  out.set(body, 1);
  return out;
}

export interface TerminalSession {
  close(): void;
}

/** Opens `command` in the pod's (first) container and shows it in `container`. */
export async function openTerminal(container: HTMLElement, namespace: string, pod: string, command = "sh"): Promise<TerminalSession> {
  const xterm = await import("@xterm/xterm");
  const term: Terminal = new xterm.Terminal({ cols: 120, rows: 28, convertEol: false, cursorBlink: true, fontSize: 13, theme: { background: "#0d1117" } });
  container.replaceChildren();
  term.open(container);
  term.focus();
  const query = new URLSearchParams({ namespace, pod, command });
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/exec?${query.toString()}`);
  ws.binaryType = "arraybuffer";
  const send = (channel: number, payload: string): void => {
    if (ws.readyState === WebSocket.OPEN) ws.send(frame(channel, payload));
  };
  const resize = (): void => { send(RESIZE, JSON.stringify({ Width: term.cols, Height: term.rows })); };
  const input = term.onData((data) => { send(STDIN, data); });
  ws.onmessage = (event: MessageEvent<ArrayBuffer | string>) => {
    if (typeof event.data === "string") {
      // The relay's first message: the protocol the apiserver agreed to; the terminal's size goes first.
      resize();
      return;
    }
    const bytes = new Uint8Array(event.data);
    const payload = bytes.subarray(1);
    switch (bytes[0]) {
      case STDOUT:
      case STDERR:
        term.write(payload);
        return;
      case STATUS: {
        const status = JSON.parse(decoder.decode(payload)) as { status?: string; message?: string };
        term.write(`\r\n[${status.status === "Success" ? "exited" : (status.message ?? "failed")}]\r\n`);
        return;
      }
      case undefined:
      default:
        return;
    }
  };
  ws.onclose = (event) => {
    term.write(`\r\n[session closed${event.reason ? `: ${event.reason}` : ""}]\r\n`);
    input.dispose();
  };
  return {
    close: () => {
      ws.close();
      term.dispose();
    },
  };
}
