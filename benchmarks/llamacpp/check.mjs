// check.mjs runs a GGUF file in llama.cpp through node-llama-cpp and
// compares the result with adapt's. check.sh calls it in two modes:
//
//	node check.mjs generate MODEL.gguf ADAPT.json
//	node check.mjs tokenize MODEL.gguf TEXTS.json ADAPT_IDS.json
//
// generate: ADAPT.json is what `go run ./benchmarks/llamacpp generate`
// printed (prompt ids, generated ids, text, logits of the first generated
// position). The prompt is encoded by llama.cpp's tokenizer, with BOS when
// the file sets tokenizer.ggml.add_bos_token, and each next token is the argmax of llama.cpp's
// logits, ties to the lowest id as in adapt. The two outputs are printed
// one above the other.
//
// tokenize: encodes each text of TEXTS.json (a JSON array of strings) with
// llama.cpp's tokenizer, without BOS and without matching special-token
// text, and compares the ids with ADAPT_IDS.json from
// `go run ./benchmarks/llamacpp tokenize`.
//
// It exits with status 1 when any ids differ.
import {readFileSync} from "node:fs";
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const [mode, modelPath, ...rest] = process.argv.slice(2);
const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

// build: "never" keeps node-llama-cpp on the prebuilt binaries of its npm
// package; without it, node-llama-cpp may download and compile llama.cpp.
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath});
let ok;
if (mode === "generate")
    ok = await generate(rest[0]);
else if (mode === "tokenize")
    ok = tokenize(rest[0], rest[1]);
else
    throw new Error(`unknown mode ${mode}: use generate or tokenize`);
await llama.dispose();
process.exit(ok ? 0 : 1);

async function generate(adaptPath) {
    const adapt = JSON.parse(readFileSync(adaptPath, "utf8"));
    const prompt = adapt.prompt;
    const n = adapt.generated_ids.length;

    // An F32 KV cache (llama.cpp's default is F16) keeps the logits
    // comparable with adapt's float32 forward pass.
    const context = await model.createContext({
        contextSize: 256, threads: 1, flashAttention: false,
        experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32"
    });
    const sequence = context.getSequence();
    const promptIds = model.tokenize(prompt, false);
    if (model.tokens.bos != null && model.tokens.shouldPrependBosToken)
        promptIds.unshift(model.tokens.bos);

    // Feed the prompt, then one token at a time, asking each time for the
    // logits of the last position.
    let input = promptIds.slice(0, -1);
    let last = promptIds[promptIds.length - 1];
    const generated = [];
    let firstLogits = null;
    for (let i = 0; i < n; i++) {
        const res = await sequence.controlledEvaluate([...input, [last, {generateNext: {logits: true}}]]);
        const logits = res[res.length - 1].next.logits;
        firstLogits ??= logits;
        last = argmax(logits);
        generated.push(last);
        input = [];
    }

    // Logits are compared after subtracting each side's mean, because a
    // constant shift does not change the softmax.
    const V = adapt.first_logits.length;
    const ours = Array.from({length: V}, (_, id) => firstLogits.get(id) ?? NaN);
    const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const mo = mean(ours), ma = mean(adapt.first_logits);
    let maxDiff = 0, maxAbs = 0;
    for (let id = 0; id < V; id++) {
        maxDiff = Math.max(maxDiff, Math.abs((ours[id] - mo) - (adapt.first_logits[id] - ma)));
        maxAbs = Math.max(maxAbs, Math.abs(adapt.first_logits[id] - ma));
    }

    // Detokenize with the prompt as context, so that a SentencePiece
    // vocabulary does not put its space prefix before the text.
    const text = prompt + model.detokenize(generated, false, promptIds);
    const samePrompt = same(promptIds, adapt.prompt_ids), sameGen = same(generated, adapt.generated_ids);
    const meta = model.fileInfo.metadata;
    console.log(`llama.cpp ${modelPath} (${meta.general.architecture}, tokenizer ${meta.tokenizer.ggml.model}, general.file_type ${meta.general.file_type})`);
    console.log(`adapt     ${adapt.source}`);
    console.log(`  prompt ids     adapt     ${JSON.stringify(adapt.prompt_ids)}`);
    console.log(`                 llama.cpp ${JSON.stringify(promptIds)}  ${samePrompt ? "same" : "DIFFERENT"}`);
    console.log(`  generated ids  adapt     ${JSON.stringify(adapt.generated_ids)}`);
    console.log(`                 llama.cpp ${JSON.stringify(generated)}  ${sameGen ? "same" : "DIFFERENT"}`);
    console.log(`  text           adapt     ${JSON.stringify(adapt.text)}`);
    console.log(`                 llama.cpp ${JSON.stringify(text)}`);
    console.log(`  first logits   max |difference| ${maxDiff.toExponential(2)} (largest |logit| ${maxAbs.toFixed(2)}, both centered) over ${V} ids`);
    console.log("");
    return samePrompt && sameGen;
}

function tokenize(textsPath, adaptIdsPath) {
    const texts = JSON.parse(readFileSync(textsPath, "utf8"));
    const adaptIds = JSON.parse(readFileSync(adaptIdsPath, "utf8"));
    let agree = 0;
    texts.forEach((text, i) => {
        const ids = model.tokenize(text, false);
        if (same(ids, adaptIds[i]))
            agree++;
        else
            console.log(`  tokenize ${JSON.stringify(text)}: adapt ${JSON.stringify(adaptIds[i])}, llama.cpp ${JSON.stringify(ids)}`);
    });
    console.log(`tokenizer ${modelPath}: ${agree} of ${texts.length} texts encode to the same ids`);
    console.log("");
    return agree === texts.length;
}

function argmax(logits) {
    let best = -1, bestValue = -Infinity;
    for (const [token, value] of logits)
        if (value > bestValue || (value === bestValue && token < best))
            [best, bestValue] = [token, value];
    return best;
}
