import { describe, expect, it } from "vitest";
import {
  dataChannel,
  decodePortForwardClientFrame,
  encodePortPrefix,
  errorChannel,
  PORT_FORWARD_PROTOCOL,
  PORT_FORWARD_V4,
  selectPortForwardProtocol,
  sessionPorts,
} from "./portforward-protocol.js";

describe("port-forward protocol", () => {
  it("pairs a data and an error channel per port, in the order the ports were given", () => {
    expect([0, 1, 2].map((i) => [dataChannel(i), errorChannel(i)])).toEqual([[0, 1], [2, 3], [4, 5]]);
  });

  it("opens each channel with the port as a little-endian uint16", () => {
    expect([...encodePortPrefix(2, 8080)]).toEqual([2, 0x90, 0x1f]);
    expect([...encodePortPrefix(1, 65535)]).toEqual([1, 0xff, 0xff]);
  });

  it("takes client data only on a data channel of a known port", () => {
    expect(decodePortForwardClientFrame(Buffer.from([2, 104, 105]), 2)).toEqual({ type: "data", portIndex: 1, data: Buffer.from("hi") });
    expect(decodePortForwardClientFrame(Buffer.from([1, 104]), 2)).toEqual({ type: "invalid", channel: 1 });
    expect(decodePortForwardClientFrame(Buffer.from([4, 104]), 2)).toEqual({ type: "invalid", channel: 4 });
    expect(decodePortForwardClientFrame(Buffer.alloc(0), 2)).toEqual({ type: "invalid", channel: -1 });
  });

  it("prefers the kubelet's subprotocol and takes portforward.k8s.io as its alias; SPDY tunnels are not ours", () => {
    expect(selectPortForwardProtocol(["portforward.k8s.io", " v4.channel.k8s.io"])).toBe(PORT_FORWARD_V4);
    expect(selectPortForwardProtocol(["portforward.k8s.io"])).toBe(PORT_FORWARD_PROTOCOL);
    expect(selectPortForwardProtocol(["SPDY/3.1+portforward.k8s.io"])).toBeUndefined();
  });

  it("takes the ports from the query, else from the CRI request, and refuses ports the request did not name", () => {
    expect(sessionPorts(new URLSearchParams("port=8080&port=9090"), [])).toEqual([8080, 9090]);
    expect(sessionPorts(new URLSearchParams("port=80,443"), [80, 443, 8080])).toEqual([80, 443]);
    expect(sessionPorts(new URLSearchParams(""), [5432])).toEqual([5432]);
    expect(() => sessionPorts(new URLSearchParams(""), [])).toThrow(/no port/);
    expect(() => sessionPorts(new URLSearchParams("port=http"), [])).toThrow(/invalid port "http"/);
    expect(() => sessionPorts(new URLSearchParams("port=70000"), [])).toThrow(/invalid port/);
    expect(() => sessionPorts(new URLSearchParams("port=22"), [80])).toThrow(/port 22 was not in the port-forward request/);
  });
});
