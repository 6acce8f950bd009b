// kafkajs' transactional producer for tests/compat/test_transactions.py, run
// with NODE_PATH at the node_modules scripts/install-clients.sh filled:
//     node transactions.js BOOTSTRAP TOPIC GROUP TXN_ID
// producer.transaction() twice on partition 0 of TOPIC: the first sends
// COMMITTED records and the group offset COMMITTED, and commits; the second
// sends ABORTED records and the offset COMMITTED + ABORTED, and aborts.
// Prints one JSON line; the test reads the log and the group's offset itself.
'use strict'
const { Kafka, logLevel } = require('kafkajs')

const COMMITTED = 5
const ABORTED = 4
const TIMEOUT_MS = 30000

function done (result) {
  process.stdout.write(JSON.stringify(result) + '\n')
  process.exit(0)
}

async function inTransaction (producer, topic, group, values, offset, finish) {
  const txn = await producer.transaction()
  await txn.send({ topic, acks: -1, timeout: TIMEOUT_MS, messages: values.map(v => ({ partition: 0, value: v })) })
  await txn.sendOffsets({ consumerGroupId: group, topics: [{ topic, partitions: [{ partition: 0, offset: String(offset) }] }] })
  await txn[finish]()
}

async function main () {
  const [bootstrap, topic, group, transactionalId] = process.argv.slice(2)
  const kafka = new Kafka({ clientId: 'sluice-kafkajs-txn', brokers: bootstrap.split(','), logLevel: logLevel.NOTHING, retry: { retries: 8 } })
  const producer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, transactionTimeout: TIMEOUT_MS })
  await producer.connect()
  const committed = []
  for (let i = 0; i < COMMITTED; i++) committed.push(`c-${i}`)
  const aborted = []
  for (let i = 0; i < ABORTED; i++) aborted.push(`a-${i}`)
  await inTransaction(producer, topic, group, committed, COMMITTED, 'commit')
  await inTransaction(producer, topic, group, aborted, COMMITTED + ABORTED, 'abort')
  await producer.disconnect()
  done({ committed, aborted })
}

main().catch(e => {
  process.stdout.write(JSON.stringify({ error: `${e.name}: ${e.message}` }) + '\n')
  process.exit(1)
})
