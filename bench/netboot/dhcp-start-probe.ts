/**
 * The start-up bench's client (bench/netboot/dhcp-start.ts runs it in the client namespace; not
 * meant to be run by hand). argv: SERVER_IP CLIENT_IP TIMEOUT_MS. Binds CLIENT_IP:67 and sends a
 * DISCOVER every 2 ms as a relay agent on the server's link would (giaddr = CLIENT_IP, to
 * SERVER_IP:67), so the reply comes back by unicast. Prints `ready` once bound, then one line
 * `offer <epoch ms>` at the first OFFER (or `timeout`), and exits. Bounded by TIMEOUT_MS.
 */
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { clientPacket } from '../../test/netboot/dhcp-lab.js';
import { decode, isDecodeError } from '../../src/netboot/dhcp/packet.js';
import { MessageType, Opt, ipToNum } from '../../src/netboot/dhcp/options.js';

const [server = '192.0.2.1', client = '192.0.2.2', timeoutText = '10000'] = process.argv.slice(2);
const discover = clientPacket({ type: 'DISCOVER', mac: '02:00:00:00:5a:01', xid: 0x5a5a0001 });
discover.writeUInt32BE(ipToNum(client), 24); // giaddr: replies come back to us, unicast, port 67

const sock = dgram.createSocket('udp4');
sock.on('message', (msg) => {
  const p = decode(msg);
  if (isDecodeError(p) || p.op !== 2 || p.xid !== 0x5a5a0001) return;
  if (p.options.get(Opt.MESSAGE_TYPE)?.[0] !== MessageType.OFFER) return;
  process.stdout.write(`offer ${performance.timeOrigin + performance.now()}\n`);
  process.exit(0);
});
sock.bind(67, client, () => {
  process.stdout.write('ready\n');
  const tick = setInterval(() => sock.send(discover, 67, server, () => undefined), 2);
  setTimeout(() => {
    clearInterval(tick);
    process.stdout.write('timeout\n');
    process.exit(1);
  }, Number(timeoutText));
});
