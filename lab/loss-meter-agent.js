// One end of the lab's loss meter (see loss-meter.ts), run inside a lab host's namespace:
//   ip netns exec NS node lab/loss-meter-agent.js PORT
// It receives every flow sent to UDP PORT, and sends the flows it is told to, as sequenced probes:
//   bytes 0-3 magic 'LMP1', 4-7 sequence number (uint32 BE), 8-15 send time (CLOCK_MONOTONIC ns, the same clock
//   in every namespace of the host), 16 label length, then the label (the flow's name), padding to the size.
// Commands, one JSON object per line on stdin: {"cmd":"send","flows":[{label,dst,port,rate,size,srcPort?}]},
// {"cmd":"stop"} (stops sending), {"cmd":"report","id":N,"ranges"?:{label:[[from,to],...]}} (ranges: also count, per
// flow received here, the probes received and the longest run lost among sequence numbers from..to-1). Answers, one JSON object per line on stdout:
// {"type":"ready"}, {"type":"sending","flows":{label:{srcPort}}}, {"type":"report","id":N,"sent":{...},"recv":{...}}.
// Plain JavaScript: it starts in ~50 ms without a TypeScript loader. Exits when stdin closes.
import { Buffer } from 'node:buffer';
import dgram from 'node:dgram';
import { clearInterval, setInterval } from 'node:timers';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const MAGIC = 0x4c4d5031;
const HEADER = 17;
const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  process.stderr.write('usage: loss-meter-agent.js PORT\n');
  process.exit(2);
}

const nowNs = () => process.hrtime.bigint();
const nsToMs = (ns) => Number(ns) / 1e6;
const out = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);

// ---------------------------------------------------------------------------------------------------------
// receiving: per label, the send time (ms) of every sequence number received (NaN = not received)

/** @type {Map<string, {times: Float64Array, received: number, duplicates: number, reordered: number, maxSeq: number, lastArrivalMs: number, lastSendMs: number}>} */
const flowsIn = new Map();

function grow(arr, need) {
  let n = arr.length;
  while (n <= need) n *= 2;
  const next = new Float64Array(n).fill(Number.NaN);
  next.set(arr);
  return next;
}

const rx = dgram.createSocket('udp4');
rx.on('message', (buf) => {
  if (buf.length < HEADER || buf.readUInt32BE(0) !== MAGIC) return;
  const seq = buf.readUInt32BE(4);
  const sendMs = nsToMs(buf.readBigUInt64BE(8));
  const len = buf[16];
  const label = buf.toString('utf8', HEADER, HEADER + len);
  let f = flowsIn.get(label);
  if (!f) {
    f = {
      times: new Float64Array(4096).fill(Number.NaN),
      received: 0,
      duplicates: 0,
      reordered: 0,
      maxSeq: -1,
      lastArrivalMs: 0,
      lastSendMs: 0,
    };
    flowsIn.set(label, f);
  }
  if (seq >= f.times.length) f.times = grow(f.times, seq);
  if (!Number.isNaN(f.times[seq])) {
    f.duplicates++;
    return;
  }
  f.times[seq] = sendMs;
  f.received++;
  if (seq < f.maxSeq) f.reordered++;
  else {
    f.maxSeq = seq;
    f.lastSendMs = sendMs;
  }
  f.lastArrivalMs = nsToMs(nowNs());
});
rx.on('error', (e) => {
  process.stderr.write(`receive socket: ${e.message}\n`);
  process.exit(1);
});

/** The holes (runs of sequence numbers not received) between the first and the last received, longest first. */
function holes(f) {
  const list = [];
  let prev = -1;
  for (let s = 0; s <= f.maxSeq; s++) {
    if (Number.isNaN(f.times[s])) continue;
    if (prev >= 0 && s > prev + 1) list.push({ from: prev + 1, to: s - 1, startMs: f.times[prev], endMs: f.times[s] });
    prev = s;
  }
  let min = -1;
  for (let s = 0; s <= f.maxSeq; s++) {
    if (!Number.isNaN(f.times[s])) {
      min = s;
      break;
    }
  }
  list.sort((a, b) => b.endMs - b.startMs - (a.endMs - a.startMs));
  return { holes: list.slice(0, 50), holeCount: list.length, minSeq: min, minSendMs: min >= 0 ? f.times[min] : null };
}

/** Probes received, and the longest run of sequence numbers not received, among from..to-1. */
function countRange(f, from, to) {
  let received = 0;
  let run = 0;
  let longestRun = 0;
  for (let s = Math.max(0, from); s < to; s++) {
    if (s < f.times.length && !Number.isNaN(f.times[s])) {
      received++;
      run = 0;
    } else if (++run > longestRun) longestRun = run;
  }
  return { from, to, received, longestRun };
}

// ---------------------------------------------------------------------------------------------------------
// sending: paced by the clock (a deficit loop every millisecond), so the rate holds on a loaded machine

/** @type {Map<string, {sock: dgram.Socket, spec: any, seq: number, startMs: number, lastSendMs: number, errors: number, buf: Buffer}>} */
const flowsOut = new Map();
let timer;

function tick() {
  const t = nowNs();
  const tMs = nsToMs(t);
  for (const f of flowsOut.values()) {
    const due = Math.floor(((tMs - f.startMs) * f.spec.rate) / 1000) + 1;
    let burst = 0;
    while (f.seq < due && burst < 200) {
      // a buffer per packet: dgram keeps a reference until the packet is handed to the kernel
      const b = Buffer.from(f.buf);
      b.writeUInt32BE(f.seq, 4);
      b.writeBigUInt64BE(nowNs(), 8);
      f.sock.send(b, f.spec.port, f.spec.dst, (err) => {
        if (err) f.errors++;
      });
      f.lastSendMs = nsToMs(nowNs());
      f.seq++;
      burst++;
    }
    if (f.seq < due) {
      // More than 200 behind (this process was not scheduled): shift the schedule rather than skip sequence
      // numbers, so that a stall of the sender is never counted as loss in the network; reported as `stalls`.
      f.startMs += ((due - f.seq) * 1000) / f.spec.rate;
      f.stalls++;
    }
  }
}

async function startFlows(specs) {
  const started = {};
  for (const spec of specs) {
    const sock = dgram.createSocket('udp4');
    await new Promise((resolve, reject) => {
      sock.once('error', reject);
      sock.bind({ port: spec.srcPort ?? 0, ...(spec.src ? { address: spec.src } : {}) }, () => resolve());
    });
    sock.on('error', () => undefined);
    const label = Buffer.from(spec.label, 'utf8');
    const buf = Buffer.alloc(Math.max(spec.size ?? 64, HEADER + label.length));
    buf.writeUInt32BE(MAGIC, 0);
    buf[16] = label.length;
    label.copy(buf, HEADER);
    flowsOut.set(spec.label, { sock, spec, seq: 0, startMs: nsToMs(nowNs()), lastSendMs: 0, errors: 0, stalls: 0, buf });
    started[spec.label] = { srcPort: sock.address().port };
  }
  timer ??= setInterval(tick, 1);
  return started;
}

function stopFlows() {
  clearInterval(timer);
  timer = undefined;
  for (const f of flowsOut.values()) f.stopped = true;
}

function report(id, ranges) {
  const sent = {};
  for (const [label, f] of flowsOut)
    sent[label] = {
      sent: f.seq,
      startMs: f.startMs,
      lastSendMs: f.lastSendMs,
      sendErrors: f.errors,
      stalls: f.stalls,
      srcPort: f.sock.address().port,
    };
  const recv = {};
  for (const [label, f] of flowsIn) {
    recv[label] = {
      received: f.received,
      duplicates: f.duplicates,
      reordered: f.reordered,
      maxSeq: f.maxSeq,
      lastSendMs: f.lastSendMs,
      lastArrivalMs: f.lastArrivalMs,
      ...holes(f),
      ...(Array.isArray(ranges?.[label]) && { ranges: ranges[label].map(([a, b]) => countRange(f, a, b)) }),
    };
  }
  const udp = udpCounters();
  out({
    type: 'report',
    id,
    nowMs: nsToMs(nowNs()),
    sent,
    recv,
    rcvbufErrors: udp.rcvbufErrors - udpAtStart.rcvbufErrors,
    sndbufErrors: udp.sndbufErrors - udpAtStart.sndbufErrors,
  });
}

/** This namespace's UDP counters (/proc/net/snmp is per network namespace): receive-buffer overflows. */
function udpCounters() {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('Udp:'));
    const names = lines[0].split(/\s+/);
    const values = lines[1].split(/\s+/).map(Number);
    const get = (n) => values[names.indexOf(n)] ?? 0;
    return { rcvbufErrors: get('RcvbufErrors'), sndbufErrors: get('SndbufErrors') };
  } catch {
    return { rcvbufErrors: 0, sndbufErrors: 0 };
  }
}
const udpAtStart = udpCounters();

rx.bind(port, () => {
  // A large receive buffer (capped by this namespace's net.core.rmem_max, 4 MiB by default here): a receiver not
  // scheduled for a while must not drop probes itself. Its drops are counted anyway (rcvbufErrors).
  try {
    rx.setRecvBufferSize(4 * 1024 * 1024);
  } catch {
    /* keep the default */
  }
  out({ type: 'ready', port, recvBuffer: rx.getRecvBufferSize() });
});
createInterface({ input: process.stdin })
  .on('line', (line) => {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      return;
    }
    if (msg.cmd === 'send') {
      startFlows(msg.flows).then(
        (flows) => out({ type: 'sending', id: msg.id, flows }),
        (e) => out({ type: 'error', id: msg.id, error: String(e?.message ?? e) }),
      );
    } else if (msg.cmd === 'stop') {
      stopFlows();
      out({ type: 'stopped', id: msg.id });
    } else if (msg.cmd === 'report') report(msg.id, msg.ranges);
  })
  .on('close', () => process.exit(0));
