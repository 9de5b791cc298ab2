// For in-host suites: wait for what VS Code updates asynchronously. Plain CommonJS: the host loads it as is.
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a truthy value; fails after `ms`, showing the last value. */
async function until(what, probe, ms = 30000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    last = await probe();
    if (last) return last;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
}

module.exports = { sleep, until };
