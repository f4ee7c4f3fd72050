// A node:test reporter that writes the skipped tests (name, file, reason) as JSON,
// so `npm test` can end by saying how many were skipped and why (scripts/run-tests.mjs).
export default async function* skipReporter(source) {
  const skipped = [];
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const skip = event.data.skip;
    if (skip === undefined || skip === false) continue;
    skipped.push({ name: event.data.name, file: event.data.file ?? null, reason: typeof skip === 'string' ? skip : '(no reason given)' });
  }
  yield JSON.stringify(skipped, null, 2) + '\n';
}
