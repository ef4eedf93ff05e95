/**
 * Load-test scenarios over the in-process pipeline: one voice turn per iteration, asking a
 * question of one kind (loads, inventory, equipment, documents, small talk).
 * @module
 */
import { InvalidArgumentError } from '../errors.js';
import type { Scenario } from '../loadtest/types.js';
import { DEFAULT_QUESTION_WEIGHTS, demoQuestion, QUESTION_KINDS, type QuestionKind } from './demo-data.js';
import type { PipelineTarget } from './pipeline-target.js';

/**
 * The weighted scenarios: the defaults, or only the kinds named in `weights`.
 * @throws InvalidArgumentError for an unknown scenario name.
 */
export function pipelineScenarios(
  target: PipelineTarget,
  weights: Readonly<Record<string, number>> = {},
): Scenario[] {
  const chosen = Object.keys(weights).length > 0 ? weights : DEFAULT_QUESTION_WEIGHTS;
  return Object.entries(chosen).map(([name, weight]) => {
    if (!(QUESTION_KINDS as readonly string[]).includes(name)) {
      throw new InvalidArgumentError(`Unknown scenario "${name}". Use one of: ${QUESTION_KINDS.join(', ')}.`);
    }
    const kind = name as QuestionKind;
    return {
      name: kind,
      weight,
      async run(ctx) {
        const question = demoQuestion(kind, target.ids, ctx.random);
        const input = await target.input(question, ctx.signal);
        const turn = target.pipeline.respond(input, { signal: ctx.signal });
        const result = await turn.done;
        return { waterfall: result.timeline, interrupted: result.interrupted };
      },
    } satisfies Scenario;
  });
}
