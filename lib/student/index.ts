/**
 * The native students (TextCNN, GRU, and the transformer teacher's model): the public face of
 * lib/student/. types.ts holds the specs, rows, options and reports; checks.ts the argument
 * checks; native-student.ts the NativeStudent class over the addon.
 */
export * from './types';
export { checkStudentSpec } from './checks';
export { NativeStudent, rawStudent, softmaxRows } from './native-student';
// Kept for importers of the single lib/student.ts; the one describe() lives in util/check-args.
export { describe } from '../util/check-args';
