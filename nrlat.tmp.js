const { helper, loadFlow, coreMqttNodes } = require('./dist/test/support/nodered');
const { startBroker } = require('./dist/test/support/broker');
(async () => {
  const broker = await startBroker();
  await helper.startServer();
  const flow = [
    { id: 'tab', type: 'tab' },
    { id: 'broker', type: 'mqtt-broker', broker: '127.0.0.1', port: String(broker.port), clientid: '', protocolVersion: '4', keepalive: '60', cleansession: true },
    { id: 'in', z: 'tab', type: 'mqtt in', broker: 'broker', topic: 't', qos: process.argv[2] || '1', datatype: 'json', wires: [['h']] },
    { id: 'out', z: 'tab', type: 'mqtt out', broker: 'broker', topic: '', qos: '', retain: '' },
    { id: 'h', z: 'tab', type: 'helper' },
  ];
  await loadFlow([coreMqttNodes], flow);
  await new Promise((r) => setTimeout(r, 1500));
  const h = helper.getNode('h'), out = helper.getNode('out');
  const times = [];
  for (let i = 0; i < 20; i++) {
    const t = process.hrtime.bigint();
    await new Promise((r) => { h.once('input', r); out.receive({ topic: 't', payload: { a: 'x'.repeat(Number(process.argv[3] || 500)) } }); });
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b); console.log('qos-in', process.argv[2], 'bytes', process.argv[3], 'median ms', times[10].toFixed(1));
  process.exit(0);
})();
