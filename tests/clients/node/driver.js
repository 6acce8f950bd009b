// The kafkajs driver of tests/integration/test_modern_clients.py, run with
// NODE_PATH at the node_modules scripts/install-clients.sh filled:
//     node driver.js SCENARIO BOOTSTRAP TOPIC [ARG]
// SCENARIO is produce CODEC, group GROUP, times, admin, ops, produce_default
// or produce_idempotent.
// Prints one JSON line of results. kafkajs ships gzip only: snappy comes from
// kafkajs-snappy, LZ4 and zstd from pure-JS/wasm libraries wired in below.
'use strict'
const { Kafka, CompressionTypes, CompressionCodecs, ConfigResourceTypes, logLevel } = require('kafkajs')
const lz4 = require('lz4js')
const zstd = require('@bokuweb/zstd-wasm')

const PER_ACKS = 60
const PARTITIONS = 3
const TIMES_BASE = 1000000
const TIMES_COUNT = 10
const GROUP_MESSAGES = 200
const GROUP_PARTITIONS = 4
const WAIT_MS = 60000
// Records the idempotent scenario sends, in order, to partition 0.
const IDEMPOTENT_RECORDS = 500
// A group run lasts this long past the balance, so members heartbeat
// (every 500 ms) and the Heartbeat versions are on the wire.
const MEMBERSHIP_MIN_MS = 1500
const ZSTD_LEVEL = 3
// A short fetch wait: kafkajs heartbeats and leaves only between fetches.
const FETCH_WAIT_MS = 200
// The ops scenario's retention.ms, set on its topic.
const OPS_RETENTION_MS = '3600000'

const CODECS = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD
}

function wireCodecs () {
  CompressionCodecs[CompressionTypes.Snappy] = require('kafkajs-snappy')
  CompressionCodecs[CompressionTypes.LZ4] = () => ({
    compress: async encoder => Buffer.from(lz4.compress(encoder.buffer)),
    decompress: async buffer => Buffer.from(lz4.decompress(buffer))
  })
  CompressionCodecs[CompressionTypes.ZSTD] = () => ({
    compress: async encoder => Buffer.from(zstd.compress(encoder.buffer, ZSTD_LEVEL)),
    decompress: async buffer => Buffer.from(zstd.decompress(buffer))
  })
}

function produceSet (acks) {
  const out = []
  for (let i = 0; i < PER_ACKS; i++) {
    out.push({ partition: i % PARTITIONS, key: `k${i}`, value: `${acks}-${i}-${'x'.repeat(i % 50)}`, headers: { n: `${i}` } })
  }
  return out
}

function done (result) {
  process.stdout.write(JSON.stringify(result) + '\n')
  process.exit(0)
}

function sleep (ms) {
  return new Promise(resolve => setTimeout(resolve, ms))
}

async function until (pred, what) {
  const deadline = Date.now() + WAIT_MS
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

// kafkajs has no assign(): a consumer in a group of its own, from the start,
// is the nearest to consuming by assignment.
async function consumeAll (kafka, topic, want) {
  const got = []
  const c = kafka.consumer({ groupId: `assign-${topic}-${process.pid}`, sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: FETCH_WAIT_MS })
  await c.connect()
  await c.subscribe({ topic, fromBeginning: true })
  await c.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      const h = Object.entries(message.headers || {}).map(([k, v]) => [k, v.toString()])
      got.push({ p: partition, o: Number(message.offset), k: message.key.toString(), v: message.value.toString(), h })
    }
  })
  await until(() => got.length >= want, `${want} records`)
  await c.disconnect()
  return got
}

async function produce (kafka, topic, codec) {
  if (!(codec in CODECS)) throw new Error(`unknown codec ${codec}`)
  for (const acks of [0, 1, -1]) {
    const p = kafka.producer({ idempotent: false, allowAutoTopicCreation: false })
    await p.connect()
    await p.send({ topic, acks, compression: CODECS[codec], messages: produceSet(acks) })
    await p.disconnect()
  }
  done({ records: await consumeAll(kafka, topic, 3 * PER_ACKS) })
}

async function group (kafka, topic, groupId) {
  const values = new Set()
  const owned = [[], []]
  const members = []
  for (let i = 0; i < 2; i++) {
    const c = kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 500, rebalanceTimeout: 10000, maxWaitTimeInMs: FETCH_WAIT_MS })
    c.on(c.events.GROUP_JOIN, e => { owned[i] = (e.payload.memberAssignment[topic] || []).slice().sort() })
    await c.connect()
    await c.subscribe({ topic, fromBeginning: true })
    await c.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        values.add(message.value.toString())
        await c.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }])
      }
    })
    members.push(c)
  }
  let balanced = null
  let balancedAt = 0
  await until(() => {
    if (!balanced && owned[0].length && owned[1].length && owned[0].length + owned[1].length === GROUP_PARTITIONS) {
      balanced = owned.map(o => o.slice())
      balancedAt = Date.now()
    }
    return balanced && Date.now() - balancedAt >= MEMBERSHIP_MIN_MS && values.size >= GROUP_MESSAGES
  }, 'a balanced group consuming everything')
  for (const c of members) await c.disconnect()
  const admin = kafka.admin()
  await admin.connect()
  const listed = await admin.listGroups()
  const described = await admin.describeGroups([groupId])
  const offsets = await admin.fetchOffsets({ groupId, topics: [topic] })
  const committed = {}
  for (const p of offsets[0].partitions) committed[`${p.partition}`] = Number(p.offset)
  await admin.deleteGroups([groupId])
  const after = await admin.listGroups()
  await admin.disconnect()
  const d = described.groups[0]
  done({
    values: [...values],
    balanced,
    groups: listed.groups.map(g => g.groupId),
    state: d.state,
    protocol_type: d.protocolType,
    committed,
    after_delete: after.groups.map(g => g.groupId)
  })
}

async function times (kafka, topic) {
  const p = kafka.producer({ idempotent: false, allowAutoTopicCreation: false })
  await p.connect()
  const messages = []
  for (let i = 0; i < TIMES_COUNT; i++) messages.push({ partition: 0, value: `${i}`, timestamp: `${TIMES_BASE + 1000 * i}` })
  await p.send({ topic, compression: CompressionTypes.LZ4, messages })
  await p.disconnect()
  const admin = kafka.admin()
  await admin.connect()
  const at = async ms => Number((await admin.fetchTopicOffsetsByTimestamp(topic, ms)).find(o => o.partition === 0).offset)
  const ends = (await admin.fetchTopicOffsets(topic)).find(o => o.partition === 0)
  const result = {
    exact: await at(TIMES_BASE + 5000),
    between: await at(TIMES_BASE + 4500),
    future: await at(Date.now() + 3600000),
    earliest: Number(ends.low),
    latest: Number(ends.high)
  }
  await admin.disconnect()
  done(result)
}

function errorType (e) {
  if (e.errors && e.errors.length) return e.errors[0].type
  return e.type || e.message
}

async function admin (kafka, topic) {
  const a = kafka.admin()
  await a.connect()
  const create = async spec => {
    try {
      // kafkajs answers false, not an error, for a topic that exists.
      return (await a.createTopics({ topics: [spec] })) ? '' : 'TOPIC_ALREADY_EXISTS'
    } catch (e) {
      return errorType(e)
    }
  }
  const created = await create({ topic, numPartitions: 2, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '3600000' }] })
  const again = await create({ topic, numPartitions: 2, replicationFactor: 1 })
  const badRf = await create({ topic: `${topic}-rf`, numPartitions: 1, replicationFactor: 3 })
  const md = await a.fetchTopicMetadata({ topics: [topic] })
  let deleted = ''
  try {
    await a.deleteTopics({ topics: [topic] })
  } catch (e) {
    deleted = errorType(e)
  }
  const after = (await a.listTopics()).includes(topic)
  await a.disconnect()
  done({ created, again, bad_rf: badRf, partitions: md.topics[0].partitions.length, deleted, after })
}

async function eventually (read, want) {
  const deadline = Date.now() + 10000
  for (;;) {
    const got = await read()
    if (got === want || Date.now() > deadline) return got
    await sleep(100)
  }
}

// ops: the operator's admin calls on a topic of 2 partitions
// (CreatePartitions, DescribeConfigs, AlterConfigs, Metadata).
async function ops (kafka, topic) {
  const a = kafka.admin()
  await a.connect()
  const attempt = async call => {
    try {
      await call()
      return ''
    } catch (e) {
      return errorType(e)
    }
  }
  const grown = await attempt(() => a.createPartitions({ topicPartitions: [{ topic, count: 4 }] }))
  const lower = await attempt(() => a.createPartitions({ topicPartitions: [{ topic, count: 3 }] }))
  // Kafka applies a change a moment after it answers: read until it shows.
  const partitions = await eventually(async () =>
    (await a.fetchTopicMetadata({ topics: [topic] })).topics[0].partitions.length, 4)
  const config = async (type, name, key) => {
    const r = await a.describeConfigs({ resources: [{ type, name }], includeSynonyms: false })
    const entry = r.resources[0].configEntries.find(e => e.configName === key)
    if (!entry) throw new Error(`no ${key} in the configs of ${name}`)
    return entry.configValue
  }
  const retentionDefault = await config(ConfigResourceTypes.TOPIC, topic, 'retention.ms')
  const set = value => attempt(() => a.alterConfigs({
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'retention.ms', value }] }]
  }))
  const altered = await set(OPS_RETENTION_MS)
  const retention = await eventually(() => config(ConfigResourceTypes.TOPIC, topic, 'retention.ms'), OPS_RETENTION_MS)
  const badConfig = await set('abc')
  const cluster = await a.describeCluster()
  const numPartitions = await config(ConfigResourceTypes.BROKER, String(cluster.brokers[0].nodeId), 'num.partitions')
  await a.disconnect()
  done({
    grown,
    lower,
    partitions,
    retention_default: retentionDefault,
    altered,
    retention,
    bad_config: badConfig,
    broker_num_partitions: numPartitions,
    brokers: cluster.brokers.length,
    cluster_id: cluster.clusterId,
    controller: cluster.controller
  })
}

async function produceDefault (kafka, topic) {
  const p = kafka.producer({ allowAutoTopicCreation: false })
  await p.connect()
  let error = ''
  try {
    await p.send({ topic, messages: [{ value: 'default' }], timeout: 10000 })
  } catch (e) {
    error = `${e.name}: ${e.message}`
  }
  await p.disconnect()
  done({ produce_error: error })
}

async function produceIdempotent (kafka, topic) {
  const p = kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 })
  await p.connect()
  let error = ''
  try {
    for (let i = 0; i < IDEMPOTENT_RECORDS; i += 50) {
      const messages = []
      for (let k = i; k < i + 50; k++) messages.push({ partition: 0, value: String(k) })
      await p.send({ topic, messages, acks: -1, timeout: 10000 })
    }
  } catch (e) {
    error = `${e.name}: ${e.message}`
  }
  await p.disconnect()
  done({ produce_error: error, sent: IDEMPOTENT_RECORDS })
}

async function main () {
  const [scenario, bootstrap, topic, arg] = process.argv.slice(2)
  await zstd.init()
  wireCodecs()
  const kafka = new Kafka({ clientId: 'sluice-kafkajs', brokers: bootstrap.split(','), logLevel: logLevel.NOTHING, retry: { retries: 3 } })
  const scenarios = { produce, group, times, admin, ops, produce_default: produceDefault, produce_idempotent: produceIdempotent }
  if (!(scenario in scenarios)) throw new Error(`unknown scenario ${scenario}`)
  await scenarios[scenario](kafka, topic, arg)
}

main().catch(e => {
  process.stdout.write(JSON.stringify({ error: `${e.name}: ${e.message}` }) + '\n')
  process.exit(1)
})
