package reports

// pageHTML is the report template. It must stay self-contained: no
// external stylesheets, scripts, fonts or images, so the file opens the
// same offline and sends no requests.
const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>adapt report</title>
<style>
:root { --fg: #1d2330; --muted: #5b6475; --line: #d9dee7; --bg: #ffffff; --panel: #f6f8fb; --good: #1a7f37; --bad: #b42318; --warn: #9a6700; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "Liberation Sans", sans-serif; }
main { max-width: 980px; margin: 0 auto; padding: 24px 20px 64px; }
header { border-bottom: 2px solid var(--line); margin-bottom: 8px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 20px 0 8px; }
.meta { color: var(--muted); margin: 0 0 12px; }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 13px; }
pre { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 12px; overflow-x: auto; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 14px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--panel); font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.missing { background: var(--panel); border-left: 4px solid var(--line); padding: 10px 14px; color: var(--muted); }
.error { background: #fdf0ef; border-left: 4px solid var(--bad); padding: 10px 14px; white-space: pre-wrap; }
.callout { background: #fff8e6; border-left: 4px solid var(--warn); padding: 10px 14px; }
.good { color: var(--good); font-weight: 600; }
.bad { color: var(--bad); font-weight: 600; }
.reasons { color: var(--muted); font-size: 13px; }
figure { margin: 10px 0 18px; }
figure svg { width: 100%; max-width: 820px; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 13px; }
dl.summary { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 8px 0 12px; }
dl.summary dt { color: var(--muted); }
dl.summary dd { margin: 0; }
ul.ids { columns: 2; font-family: ui-monospace, monospace; font-size: 12px; }
</style>
</head>
<body>
<main>
<header>
<h1>adapt report</h1>
<p class="meta">Workspace <code>{{.Workspace}}</code> · generated {{.GeneratedAt}}</p>
</header>
{{- with .Runs.FailedGates}}
<div class="error" id="gates"><strong>Regression gates failed in run <code>{{$.Runs.NewestID}}</code>:</strong>
{{- range .}}
{{.}}
{{- end}}</div>
{{- end}}

<section id="stages">
<h2>Stage counts</h2>
{{- with .Stages}}
{{- if .Missing}}
<p class="missing">Not run yet: run <code>{{.Missing}}</code>.</p>
{{- else}}
<table>
<thead><tr><th>stage</th><th class="n">in</th><th class="n">kept</th><th class="n">rejected</th><th>rejected or changed, by rule</th></tr></thead>
<tbody>
{{- range .Rows}}
<tr>
<td>{{.Stage}}</td>
{{- if .Missing}}
<td colspan="4" class="reasons">not run yet: run <code>{{.Missing}}</code></td>
{{- else if .Error}}
<td colspan="4" class="bad">{{.Error}}</td>
{{- else}}
<td class="n">{{num .Counts.In}}</td><td class="n">{{num .Counts.Kept}}</td><td class="n">{{num .Counts.Rejected}}{{if not .Balanced}} <span class="bad">(in ≠ kept + rejected)</span>{{end}}</td>
<td class="reasons">{{range $i, $r := .Reasons}}{{if $i}}, {{end}}{{$r.Reason}} {{num $r.Count}}{{else}}none{{end}}</td>
{{- end}}
</tr>
{{- end}}
</tbody>
</table>
{{- end}}
{{- end}}
</section>

<section id="training">
<h2>Training</h2>
{{- with .Training}}
{{- if .Missing}}
<p class="missing">Not run yet: run <code>{{.Missing}}</code>.</p>
{{- else}}
{{- if .Error}}
<p class="error">{{.Error}}</p>
{{- end}}
{{- with .Metrics}}
<dl class="summary">
<dt>base model</dt><dd><code>{{.BaseModel}}</code></dd>
<dt>steps</dt><dd>{{.Steps}}</dd>
<dt>tokens per step</dt><dd>{{.TokensPerStep}}</dd>
<dt>train / validation tokens</dt><dd>{{num .TrainTokens}} / {{num .ValTokens}}</dd>
<dt>training time</dt><dd>{{seconds .ElapsedSeconds}}</dd>
{{- range $.Training.Settings}}
<dt>{{.Name}}</dt><dd>{{.Value}}</dd>
{{- end}}
</dl>
{{- end}}
{{- if .FinalLoss}}
<p>Final training loss <strong>{{.FinalLoss}}</strong>{{if .FinalVal}}, final validation loss <strong>{{.FinalVal}}</strong>{{end}} (nats per token).</p>
{{- end}}
{{- if .Chart}}
<figure>
{{.Chart}}
<figcaption>Training loss per optimizer step and validation loss at each evaluation.</figcaption>
</figure>
{{- else if not .Error}}
<p class="missing">The training run recorded no loss points.</p>
{{- end}}
{{- end}}
{{- end}}
</section>

<section id="eval">
<h2>Evaluation</h2>
{{- with .Eval}}
{{- if .Missing}}
<p class="missing">Not run yet: run <code>{{.Missing}}</code>.</p>
{{- else}}
{{- if .Error}}
<p class="error">{{.Error}}</p>
{{- end}}
{{- if .Chart}}
<figure>
{{.Chart}}
<figcaption>Perplexity per task set; whiskers show the bootstrap 95% interval where the result has one.</figcaption>
</figure>
{{- end}}
{{- if .Changes}}
<h3>Tuned against base</h3>
<table>
<thead><tr><th>task set</th><th class="n">base</th><th class="n">tuned</th><th class="n">change</th><th>95% intervals</th></tr></thead>
<tbody>
{{- range .Changes}}
<tr><td>{{.TaskSet}}</td><td class="n">{{.Base}}</td><td class="n">{{.Tuned}}</td><td class="n {{if .Better}}good{{else if .Worse}}bad{{end}}">{{.Relative}}</td>
<td>{{if .HasIntervalCheck}}{{if .OverlappingCI}}overlap{{else}}separate{{end}}{{else}}not computed{{end}}</td></tr>
{{- end}}
</tbody>
</table>
{{- end}}
<h3>Results</h3>
<table>
<thead><tr><th>model</th><th>task set</th><th>task</th><th class="n">perplexity</th><th class="n">95% interval</th><th class="n">NLL per token</th><th class="n">tokens</th><th class="n">examples</th><th>other metrics</th></tr></thead>
<tbody>
{{- range .Rows}}
<tr><td>{{.Model}}</td><td>{{.TaskSet}}</td><td>{{.Task}}</td><td class="n">{{.Perplexity}}</td><td class="n">{{.CI}}</td><td class="n">{{.NLLPerToken}}</td><td class="n">{{.Tokens}}</td><td class="n">{{.Examples}}</td><td>{{.Other}}</td></tr>
{{- end}}
</tbody>
</table>
{{- end}}
{{- end}}
</section>

<section id="audit">
<h2>Audit</h2>
{{- with .Audit}}
{{- if .Missing}}
<p class="missing">Not run yet: run <code>{{.Missing}}</code>.</p>
{{- else if .Error}}
<p class="error">{{.Error}}</p>
{{- else}}
<h3>Personal data</h3>
{{- if .PII}}
<table>
<thead><tr><th>type</th><th class="n">found before cleaning</th><th class="n">redacted by clean</th><th class="n">residual after cleaning</th></tr></thead>
<tbody>
{{- range .PII}}
<tr><td>{{.Type}}</td><td class="n">{{if .HasBefore}}{{num .Before}}{{else}}–{{end}}</td><td class="n">{{if .HasAfter}}{{num .Redacted}}{{else}}–{{end}}</td><td class="n {{if .Residual}}bad{{end}}">{{if .HasAfter}}{{num .Residual}}{{else}}–{{end}}</td></tr>
{{- end}}
</tbody>
</table>
{{- else}}
<p>No personal data found.</p>
{{- end}}
{{- with .Report.PII}}
{{- if .ResidualDocuments}}
<p class="callout">Cleaned documents that still contain personal data: <strong>{{num .ResidualDocuments}}</strong>.{{if .ResidualDocumentIDs}} Their ids (first {{len .ResidualDocumentIDs}}):{{end}}</p>
<ul class="ids">{{range .ResidualDocumentIDs}}<li>{{.}}</li>{{end}}</ul>
{{- end}}
{{- end}}
<h3>Licenses{{if .LicenseStage}} ({{.LicenseStage}} corpus){{end}}</h3>
{{- if .Unknown}}
<p class="callout">Documents with an unknown license: <strong>{{num .Unknown}}</strong>{{if .UnknownFrom}} (sources: {{.UnknownFrom}}){{end}}. Check their terms before training on them or releasing the model.</p>
{{- end}}
{{- if .Licenses}}
<table>
<thead><tr><th>source</th><th>license</th><th class="n">documents</th></tr></thead>
<tbody>
{{- range .Licenses}}
<tr><td>{{.Source}}</td><td{{if eq .License "unknown"}} class="bad"{{end}}>{{.License}}</td><td class="n">{{num .Documents}}</td></tr>
{{- end}}
</tbody>
</table>
{{- if .ShowTotals}}
<table>
<thead><tr><th>license</th><th class="n">documents, all sources</th></tr></thead>
<tbody>
{{- range .LicenseTotals}}
<tr><td{{if eq .Reason "unknown"}} class="bad"{{end}}>{{.Reason}}</td><td class="n">{{num .Count}}</td></tr>
{{- end}}
</tbody>
</table>
{{- end}}
{{- else}}
<p>No documents.</p>
{{- end}}
{{- with .Report}}
{{- if .Problems}}
<h3>Problems</h3>
<ul>{{range .Problems}}<li class="bad">{{.}}</li>{{end}}</ul>
{{- end}}
{{- if .Skipped}}
<h3>Not audited</h3>
<ul>{{range .Skipped}}<li>{{.}}</li>{{end}}</ul>
{{- end}}
{{- end}}
{{- end}}
{{- end}}
</section>

<section id="runs">
<h2>Runs</h2>
{{- with .Runs}}
{{- if .Missing}}
<p class="missing">Not run yet: run <code>{{.Missing}}</code>.</p>
{{- else if .Error}}
<p class="error">{{.Error}}</p>
{{- else}}
<p>{{.Total}} {{plural .Total "run" "runs"}} recorded{{if gt .Total (len .Rows)}}, newest {{len .Rows}} shown{{end}}.</p>
<table>
<thead><tr><th>run</th><th>parent</th><th>created (UTC)</th><th>tool</th><th class="n">inputs</th><th>perplexity</th><th>regression gates</th></tr></thead>
<tbody>
{{- range .Rows}}
<tr><td><code>{{.ID}}</code></td><td>{{if .Parent}}<code>{{.Parent}}</code>{{else}}–{{end}}</td><td>{{.CreatedAt}}</td><td>{{.ToolVersion}}</td><td class="n">{{.Inputs}}</td><td>{{.Metrics}}</td><td>{{if .GatesFailed}}<strong>{{.Gates}}</strong>{{else}}{{.Gates}}{{end}}</td></tr>
{{- end}}
</tbody>
</table>
{{- if .Diff}}
<h3>Changes since the previous run</h3>
<pre>{{.Diff}}</pre>
{{- end}}
{{- end}}
{{- end}}
</section>
</main>
</body>
</html>
`
