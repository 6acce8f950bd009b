// kafkajs' admin createPartitions for tests/compat/test_create_partitions_clients.py,
// run with NODE_PATH at the node_modules scripts/install-clients.sh filled:
//     node create_partitions.js BOOTSTRAP TOPIC
// Creates TOPIC with 2 partitions, validates a growth to 6, grows it to 4,
// asks for 3 (lower), and reads the partition count after each step. Prints
// one JSON line: the counts and the error kafkajs reported for the lower one.
'use strict'
const { Kafka, logLevel } = require('kafkajs')

const TIMEOUT_MS = 30000

async function count (admin, topic) {
  const md = await admin.fetchTopicMetadata({ topics: [topic] })
  return md.topics[0].partitions.length
}

async function main () {
  const [bootstrap, topic] = process.argv.slice(2)
  const kafka = new Kafka({ clientId: 'sluice-kafkajs-partitions', brokers: bootstrap.split(','), logLevel: logLevel.NOTHING, retry: { retries: 2 } })
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true, timeout: TIMEOUT_MS })
  const result = { created: await count(admin, topic) }
  await admin.createPartitions({ topicPartitions: [{ topic, count: 6 }], validateOnly: true, timeout: TIMEOUT_MS })
  result.validated = await count(admin, topic)
  await admin.createPartitions({ topicPartitions: [{ topic, count: 4 }], timeout: TIMEOUT_MS })
  result.grown = await count(admin, topic)
  try {
    await admin.createPartitions({ topicPartitions: [{ topic, count: 3 }], timeout: TIMEOUT_MS })
    result.lower = 'accepted'
  } catch (e) {
    result.lower = e.type || e.name
  }
  await admin.disconnect()
  process.stdout.write(JSON.stringify(result) + '\n')
  process.exit(0)
}

main().catch(e => {
  process.stdout.write(JSON.stringify({ error: `${e.name}: ${e.message}` }) + '\n')
  process.exit(1)
})
