/** YAML syntax errors as a user sees them: plain words, the line and column, the line itself with a caret, a fix. */
import { describe, expect, it } from "vitest";
import { formatIssues } from "../../core/config/issues";
import { StackFileError, parseStackYaml } from "../../core/config/source";

function yamlIssue(text: string) {
  try {
    parseStackYaml(text, "dev");
  } catch (e) {
    if (e instanceof StackFileError) return e.issue;
    throw e;
  }
  throw new Error("parsed without an error");
}

describe("YAML errors in plain words", () => {
  it.each<[string, string, string, string]>([
    ["an unclosed flow list", "config:\n  hybrid-inference:hosts: [a, b\n  hybrid-inference:model: {id: x}\n",
      "line 2, column 27: the list opened with [ here is never closed with ]", "   2 |   hybrid-inference:hosts: [a, b\n     |                           ^"],
    ["an unclosed flow map", "config:\n  hybrid-inference:model: {id: x, quantization: auto\n  hybrid-inference:environment: dev\n",
      "line 2, column 27: the map opened with { here is never closed with }", "   2 |   hybrid-inference:model: {id: x, quantization: auto\n     |                           ^"],
    ["an unclosed quote", 'config:\n  hybrid-inference:environment: "dev\n',
      'line 2, column 33: the text quoted with " here is never closed', '   2 |   hybrid-inference:environment: "dev\n     |                                 ^'],
    ["a tab", "config:\n\thybrid-inference:environment: dev\n",
      "line 2, column 1: a tab is used to indent; YAML indents with spaces only", "   2 | →hybrid-inference:environment: dev\n     | ^"],
    ["a duplicate key", "config:\n  hybrid-inference:environment: dev\n  hybrid-inference:environment: prod\n",
      "line 3, column 3: the key hybrid-inference:environment appears twice in the same map (first on line 2)", "   3 |   hybrid-inference:environment: prod\n     |   ^"],
    ["a value with ': ' in it", "config:\n  hybrid-inference:environment: dev: prod\n",
      "line 2, column 33: this value contains ': ' (a colon and a space), which YAML reads as the start of another key", "   2 |   hybrid-inference:environment: dev: prod\n     |                                 ^"],
    ["a line indented too deep", "config:\n  hybrid-inference:environment: dev\n   hybrid-inference:target: docker\n",
      "line 2, column 33: line 3 is indented deeper than line 2, so YAML reads it as part of line 2's value", "   2 |   hybrid-inference:environment: dev\n     |                                 ^"],
    ["a key out of line in a list element", "config:\n  hybrid-inference:hosts:\n    - name: a\n    address: b\n",
      "line 4, column 5: this key starts at column 5, but the keys of the map above start at column 7", "   4 |     address: b\n     |     ^"],
    ["a key without its colon", "config:\n  hybrid-inference:router\n    port: 4\n",
      "line 2, column 3: this line has no ': ' after its key, so YAML reads it and the next line as one long key", "   2 |   hybrid-inference:router\n     |   ^"],
    ["a value starting with @", "config:\n  hybrid-inference:environment: @dev\n",
      "line 2, column 33: a value cannot start with @ unless it is quoted", "   2 |   hybrid-inference:environment: @dev\n     |                                 ^"],
    ["an alias without its anchor", "config:\n  hybrid-inference:environment: *env\n",
      "line 2, column 33: the alias *env refers to no anchor &env before it", "   2 |   hybrid-inference:environment: *env\n     |                                 ^"],
  ])("%s", (_label, text, message, excerpt) => {
    const issue = yamlIssue(text);
    expect(issue.path).toBe("Pulumi.dev.yaml");
    expect(issue.message).toBe(`is not valid YAML at ${message}`);
    expect(issue.excerpt).toBe(excerpt);
    expect(issue.fix.length).toBeGreaterThan(10);
  });

  it("prints the excerpt under the message and above the fix", () => {
    const text = formatIssues([yamlIssue("config:\n  hybrid-inference:hosts: [unclosed\n")]);
    expect(text).toBe([
      "error: Pulumi.dev.yaml: is not valid YAML at line 2, column 27: the list opened with [ here is never closed with ]",
      "       2 |   hybrid-inference:hosts: [unclosed",
      "         |                           ^",
      "    fix: close it on the same line, or write the list one `- item` per line, indented under its key",
    ].join("\n"));
  });

  it("cuts a very long line around the spot and keeps the caret under it", () => {
    const issue = yamlIssue(`config:\n  hybrid-inference:model: {id: ${"x".repeat(200)}, quantization: "auto\n`);
    const [line, caret] = issue.excerpt!.split("\n");
    expect(line!.length).toBeLessThan(120);
    expect(line![caret!.indexOf("^")]).toBe('"');
  });
});
