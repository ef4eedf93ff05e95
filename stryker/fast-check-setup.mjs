// @ts-check
/**
 * Mutation runs only (each area's vitest config loads this file): a property that fails stops
 * at its first counterexample instead of shrinking it. Shrinking only makes the report readable;
 * under a mutant it can take longer than Stryker's timeout, which then reports the mutant as
 * "timed out" instead of "killed" (both count as detected) and restarts a test runner. The
 * properties themselves (runs, seeds, assertions) are unchanged.
 */
import fc from 'fast-check';

fc.configureGlobal({ ...fc.readConfigureGlobal(), endOnFailure: true });
