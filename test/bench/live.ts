/**
 * Live delivery at scale: `npm run bench:live`.
 * One web instance (its own process, Redis fan-out) holds 10,000 websockets from this process
 * on loopback; 1,000 of them follow one thread while replies are posted at a steady rate.
 * Prints delivery latency p50/p99 (emit → client receipt), RSS per idle socket, and how long
 * a shutdown takes with every socket open. BENCH_SOCKETS, BENCH_ON_THREAD, BENCH_REPLIES_PER_SECOND,
 * BENCH_SECONDS change the load; BENCH_PROF=1 writes a CPU profile of the server to /tmp/hearth-live-prof.
 */
import { fork } from 'node:child_process'
import os from 'node:os'
import path from 'node:path'
import WebSocket from 'ws'
import { ROOT } from '../helpers/process.js'

const SOCKETS = Number(process.env.BENCH_SOCKETS ?? 10_000)
const ON_THREAD = Number(process.env.BENCH_ON_THREAD ?? 1_000)
const PER_SECOND = Number(process.env.BENCH_REPLIES_PER_SECOND ?? 20)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15)
const THREAD = 1

const server = fork(path.join(ROOT, 'test/bench/live-server.ts'), [], {
  execArgv: ['--expose-gc', '--import', 'tsx', ...(process.env.BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/hearth-live-prof'] : [])],
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
})
const replies: ((message: Record<string, number>) => void)[] = []
server.on('message', (m) => replies.shift()?.(m as Record<string, number>))
const ask = (command: unknown) =>
  new Promise<Record<string, any>>((resolve) => {
    replies.push(resolve)
    if (command) server.send(command as never)
  })
const hardStop = setTimeout(() => {
  console.error('benchmark took too long; stopping')
  server.kill('SIGKILL')
  process.exit(1)
}, 4 * 60_000)

const { port } = await ask(null)
const url = `ws://127.0.0.1:${port}/live`
const before = (await ask({ cmd: 'rss' })).rss as number

const latencies: number[] = []
const sockets: WebSocket[] = []
function open(channel: string, measure: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    // The load generator skips UTF-8 checks so its own CPU use disturbs the server less.
    const socket = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true })
    sockets.push(socket)
    socket.once('error', reject)
    socket.on('open', () => socket.send(JSON.stringify({ type: 'subscribe', channel })))
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data))
      if (frame.type === 'subscribed') resolve()
      else if (frame.type === 'error') reject(new Error(frame.error))
      else if (measure && frame.type === 'event') latencies.push(performance.timeOrigin + performance.now() - frame.sentAt)
    })
  })
}

const openedAt = performance.now()
for (let i = 0; i < SOCKETS; i += 250) {
  const batch: Promise<void>[] = []
  for (let j = i; j < Math.min(SOCKETS, i + 250); j++) {
    batch.push(j < ON_THREAD ? open(`thread:${THREAD}`, true) : open(`thread:${1000 + j}`, false))
  }
  await Promise.all(batch)
}
const openSeconds = (performance.now() - openedAt) / 1000
await new Promise((r) => setTimeout(r, 1_000))
const after = await ask({ cmd: 'rss' })

const clientCpu = process.cpuUsage()
const postStarted = performance.now()
const { cpuPercent } = await ask({ cmd: 'post', threadId: THREAD, perSecond: PER_SECOND, seconds: SECONDS })
const clientUsed = process.cpuUsage(clientCpu)
const clientPercent = ((clientUsed.user + clientUsed.system) / 1000 / (performance.now() - postStarted)) * 100
await new Promise((r) => setTimeout(r, 1_000))
const expected = PER_SECOND * SECONDS * ON_THREAD
const closing = ask({ cmd: 'close' })
const { closeMs } = await closing
clearTimeout(hardStop)

latencies.sort((a, b) => a - b)
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!
const perSocketKb = (after.rss - before) / SOCKETS / 1024
console.log(`sockets open                  ${after.stats.connections} (${SOCKETS} asked, opened in ${openSeconds.toFixed(1)} s)`)
console.log(`server RSS                    ${(before / 1048576).toFixed(1)} MiB → ${(after.rss / 1048576).toFixed(1)} MiB`)
console.log(`RSS per idle socket           ${perSocketKb.toFixed(1)} KB   (goal < 20 KB)`)
console.log(`replies                       ${PER_SECOND}/s for ${SECONDS} s to ${ON_THREAD} subscribers`)
console.log(`deliveries                    ${latencies.length} of ${expected}`)
console.log(`delivery latency p50          ${pct(50).toFixed(1)} ms`)
console.log(`delivery latency p99          ${pct(99).toFixed(1)} ms   (goal < 250 ms)`)
console.log(`delivery latency max          ${latencies[latencies.length - 1]!.toFixed(1)} ms`)
console.log(`CPU while posting              server ${cpuPercent.toFixed(0)}% of a core, load generator ${clientPercent.toFixed(0)}%`)
console.log(`machine load average          ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} (${os.cpus().length} cores)`)
console.log(`shutdown with sockets open    ${closeMs.toFixed(0)} ms (every socket closed with 1001)`)
for (const socket of sockets) socket.terminate()
process.exit(0)
