// Lint Cypher statements with Neo4j's own front end (@neo4j-cypher/language-support).
// Usage: node lint.cjs <directory holding node_modules>  < statements.json
// stdin: [{"query": "...", "parameters": {...}}, ...]
// stdout: [{"query": "...", "version": "CYPHER 5", "diagnostics": [{"severity", "message"}]}]
const path = require("path");
const { createRequire } = require("module");
const fs = require("fs");

const load = createRequire(path.join(path.resolve(process.argv[2]), "noop.js"));
const { lintCypherQuery, allCypherVersions } = load("@neo4j-cypher/language-support");

const statements = JSON.parse(fs.readFileSync(0, "utf8"));
const results = [];
for (const { query, parameters } of statements) {
  for (const version of allCypherVersions) {
    const { diagnostics } = lintCypherQuery(query, { defaultLanguage: version, parameters });
    results.push({
      query,
      version,
      diagnostics: diagnostics.map((d) => ({ severity: d.severity, message: d.message })),
    });
  }
}
process.stdout.write(JSON.stringify(results));
