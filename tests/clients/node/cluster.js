// The kafkajs driver of tests/integration/test_cluster_apis.py, run with
// NODE_PATH at the node_modules scripts/install-clients.sh filled:
//     node cluster.js BOOTSTRAP
// Prints one JSON line: what admin.describeCluster reported.
'use strict'
const { Kafka, logLevel } = require('kafkajs')

async function main () {
  const kafka = new Kafka({ clientId: 'sluice-kafkajs', brokers: [process.argv[2]], logLevel: logLevel.NOTHING })
  const admin = kafka.admin()
  await admin.connect()
  try {
    const d = await admin.describeCluster()
    console.log(JSON.stringify({ clusterId: d.clusterId, controller: d.controller, brokers: d.brokers }))
  } finally {
    await admin.disconnect()
  }
}

main().catch(e => {
  console.log(JSON.stringify({ error: String(e) }))
  process.exit(1)
})
