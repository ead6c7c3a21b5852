import { spawn } from 'node:child_process'
import net from 'node:net'
import type { Teardown } from './app.js'
import { freePort } from './process.js'

/** A private redis-server on a free port that a test may stop and start again (an outage). */
export interface PrivateRedis {
  port: number
  url: string
  stop(): Promise<void>
  start(): Promise<void>
}

function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await condition()) return
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error(`redis-server: timed out waiting until ${what}`)
}

/** Starts redis-server (keeping nothing on disk) on a free port; stopped on teardown. */
export async function privateRedis(t: Teardown): Promise<PrivateRedis> {
  const port = await freePort()
  let child: ReturnType<typeof spawn> | null = null
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
    await until(() => reachable(port), `port ${port} answers`)
  }
  const stop = async () => {
    const running = child
    child = null
    if (!running) return
    const exited = new Promise((resolve) => running.once('exit', resolve))
    running.kill('SIGKILL')
    await exited
    await until(async () => !(await reachable(port)), `port ${port} is closed`)
  }
  await start()
  t.teardown(stop)
  return { port, url: `redis://127.0.0.1:${port}`, stop, start }
}
