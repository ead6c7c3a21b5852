/** One node of `explain (format json)` output. */
export interface PlanNode {
  'Node Type': string
  'Relation Name'?: string
  'Actual Loops'?: number
  'Actual Rows'?: number
  Plans?: PlanNode[]
}

/** A plan's nodes, the root first, then every descendant. */
export function nodes(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(nodes)]
}
