// Runs one Postman test script with a minimal `pm` object. Input (stdin, JSON): {script, status, body,
// variables}. Output (stdout, JSON): {variables, tests: [{name, ok, error}]}. Only the pm API the collection
// uses is here; anything else throws, so a script that needs more fails loudly instead of passing.
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const variables = input.variables;
const tests = [];
function expect(actual) {
  const fail = (what) => { throw new Error(`expected ${JSON.stringify(actual)} ${what}`); };
  return { to: {
    eql: (wanted) => { if (JSON.stringify(actual) !== JSON.stringify(wanted)) fail(`to eql ${JSON.stringify(wanted)}`); },
    be: { an: (type) => { if (type === "object" ? (typeof actual !== "object" || actual === null) : typeof actual !== type) fail(`to be ${type}`); } },
  } };
}
const pm = {
  test: (name, fn) => { try { fn(); tests.push({ name, ok: true }); } catch (e) { tests.push({ name, ok: false, error: String(e) }); } },
  expect,
  response: {
    json: () => JSON.parse(input.body),
    to: { have: { status: (code) => { if (input.status !== code) throw new Error(`status ${input.status}, expected ${code}`); } } },
  },
  collectionVariables: { set: (k, v) => { variables[k] = String(v); }, get: (k) => variables[k] },
};
const console = { log: () => {} };
new Function("pm", "console", input.script)(pm, console);
process.stdout.write(JSON.stringify({ variables, tests }));
