// The kafkajs driver of tests/compat/test_admin_configs.py, run with
// NODE_PATH at the node_modules scripts/install-clients.sh filled:
//     node admin_configs.js BOOTSTRAP TOPIC BROKER_ID
// Creates TOPIC, alters its configs (and a bad value), alters the broker's
// log.retention.ms, and describes both with synonyms. Prints one JSON line.
'use strict'
const { Kafka, ConfigResourceTypes, logLevel } = require('kafkajs')

const WAIT_MS = 30000

function entries (described) {
  const out = {}
  for (const e of described.resources[0].configEntries) {
    out[e.configName] = {
      value: e.configValue,
      source: e.configSource,
      readOnly: e.readOnly,
      synonyms: (e.configSynonyms || []).map(s => [s.configName, s.configValue, s.configSource])
    }
  }
  return out
}

async function describe (admin, type, name, configNames) {
  return entries(await admin.describeConfigs({
    includeSynonyms: true,
    resources: [{ type, name, configNames }]
  }))
}

async function alterError (admin, resource) {
  try {
    await admin.alterConfigs({ validateOnly: false, resources: [resource] })
    return ''
  } catch (e) {
    return e.type || e.name || String(e)
  }
}

async function main () {
  const [bootstrap, topic, brokerId] = process.argv.slice(2)
  const kafka = new Kafka({ clientId: 'admin-configs', brokers: [bootstrap], logLevel: logLevel.NOTHING,
    requestTimeout: WAIT_MS })
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true })
  const keys = ['retention.ms', 'cleanup.policy', 'segment.bytes']
  const before = await describe(admin, ConfigResourceTypes.TOPIC, topic, keys)
  await admin.alterConfigs({
    validateOnly: false,
    resources: [{
      type: ConfigResourceTypes.TOPIC,
      name: topic,
      configEntries: [{ name: 'retention.ms', value: '12345' }, { name: 'cleanup.policy', value: 'compact' }]
    }]
  })
  const after = await describe(admin, ConfigResourceTypes.TOPIC, topic, keys)
  const badValue = await alterError(admin, {
    type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'retention.ms', value: 'soon' }]
  })
  const staticKey = await alterError(admin, {
    type: ConfigResourceTypes.BROKER, name: brokerId, configEntries: [{ name: 'log.dirs', value: '/x' }]
  })
  await admin.alterConfigs({
    validateOnly: false,
    resources: [{ type: ConfigResourceTypes.BROKER, name: brokerId, configEntries: [{ name: 'log.retention.ms', value: '7200000' }] }]
  })
  const broker = await describe(admin, ConfigResourceTypes.BROKER, brokerId, ['log.retention.ms', 'log.dirs'])
  const other = `${topic}-other`
  await admin.createTopics({ topics: [{ topic: other }], waitForLeaders: true })
  const inherited = await describe(admin, ConfigResourceTypes.TOPIC, other, ['retention.ms'])
  await admin.alterConfigs({
    validateOnly: false,
    resources: [{ type: ConfigResourceTypes.BROKER, name: brokerId, configEntries: [] }]
  })
  await admin.disconnect()
  process.stdout.write(JSON.stringify({ before, after, badValue, staticKey, broker, inherited }) + '\n')
}

main().catch(e => {
  process.stdout.write(JSON.stringify({ error: String(e && e.stack ? e.stack : e) }) + '\n')
  process.exit(1)
})
