// Validates the cards the Rust `cards` crate emits with Microsoft's adaptivecards JS library
// (schema 1.5), in plain Node: no DOM, no network. The cards come from the `dump_cards`
// example; see README.md in this folder for the two commands.
"use strict";

const test = require("node:test");
const assert = require("node:assert");
const fs = require("node:fs");
const path = require("node:path");
const AC = require("adaptivecards/dist/adaptivecards.js");

const dir = process.env.CARDS_DIR || path.join(__dirname, "..", "..", "..", "..", "target", "cards-json");
const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".json")).sort() : [];

// Both the parse events and the property validation, as the library reports them.
function problems(json) {
  const ctx = new AC.SerializationContext(AC.Versions.v1_5);
  const card = new AC.AdaptiveCard();
  card.parse(json, ctx);
  const found = [];
  for (let i = 0; i < ctx.eventCount; i++) {
    const e = ctx.getEventAt(i);
    found.push(`${AC.ValidationEvent[e.event]}: ${e.message}`);
  }
  for (const e of card.validateProperties().validationEvents) {
    found.push(`${AC.ValidationEvent[e.event]}: ${e.message}`);
  }
  return { card, found };
}

test("the card folder has cards", () => {
  assert.ok(files.length > 0, `no cards in ${dir}: run the dump_cards example first (see README.md)`);
});

test("a broken card is reported (the validator is live)", () => {
  const { found } = problems({
    type: "AdaptiveCard",
    version: "1.5",
    body: [{ type: "TextBlok", text: "x" }, { type: "Input.Text" }],
    actions: [{ type: "Action.Frobnicate" }],
  });
  assert.ok(found.length >= 3, found.join("\n"));
});

for (const file of files) {
  test(`${file} is a valid Adaptive Card 1.5`, () => {
    const json = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8"));
    assert.strictEqual(json.version, "1.5");
    const { card, found } = problems(json);
    assert.deepStrictEqual(found, [], `${file}:\n${found.join("\n")}`);
    // Parsing kept every body element and action (nothing was dropped as unknown).
    assert.strictEqual(card.getItemCount(), json.body.length);
    assert.strictEqual(card.getActionCount(), (json.actions || []).length);
  });
}

// A client below 1.4 does not know Action.Execute and must land on the Action.Submit fallback,
// which has to carry the verb in its data.
for (const file of files) {
  test(`${file} falls back to Action.Submit below 1.4`, () => {
    const json = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8"));
    const card = new AC.AdaptiveCard();
    card.parse(json, new AC.SerializationContext(AC.Versions.v1_3));
    const actions = card.getAllActions();
    assert.ok(actions.every((a) => a.getJsonTypeName() !== "Action.Execute"), "an Action.Execute survived at 1.3");
    for (const action of actions.filter((a) => a.getJsonTypeName() === "Action.Submit")) {
      assert.ok(action.data && typeof action.data.verb === "string", `${action.title}: no verb in data`);
      assert.ok(typeof action.data.alertId === "string", `${action.title}: no alertId in data`);
    }
  });
}
