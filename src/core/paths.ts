import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))

/**
 * Where Hearth's files live. Source runs from `src/core`, the built image from
 * `dist/src/core`; migrations are compiled beside the code, views and static are not.
 */
export const paths = {
  migrations: path.resolve(here, '../../migrations'),
  views: path.resolve(here, here.includes(`${path.sep}dist${path.sep}`) ? '../../../views' : '../../views'),
  static: path.resolve(here, here.includes(`${path.sep}dist${path.sep}`) ? '../../../static' : '../../static'),
}
