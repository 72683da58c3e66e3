// The page's stylesheet (inlined).
export const CSS = `
:root{--fresh:#2e7d32;--fresh-bg:#e8f5e9;--stale:#b26a00;--stale-bg:#fff3d6;--missing:#6b6b6b;--missing-bg:#f1f1f1;--failed:#c62828;--failed-bg:#fdecea;--ink:#1d2329;--muted:#66707a;--line:#d5dbe1;--accent:#1f5fbf}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:#fafbfc}
header{padding:14px 22px 10px;background:#fff;border-bottom:1px solid var(--line);position:sticky;top:0;z-index:5}
header h1{font-size:18px;margin:0 0 4px}
header nav a{margin-right:14px;color:var(--accent);text-decoration:none}
main{padding:0 22px 40px}
section{margin-top:22px}
h2{font-size:16px;margin:0 0 8px}
.muted{color:var(--muted)}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;margin-right:6px;border:1px solid}
.badge.fresh{color:var(--fresh);background:var(--fresh-bg)}.badge.stale{color:var(--stale);background:var(--stale-bg)}
.badge.missing{color:var(--missing);background:var(--missing-bg)}.badge.failed{color:var(--failed);background:var(--failed-bg)}
.toolbar{display:flex;gap:8px;align-items:center;flex-wrap:wrap;margin-bottom:8px}
.toolbar input{padding:3px 6px;width:260px}
.toolbar button{padding:2px 9px;cursor:pointer}
.graph-wrap{display:flex;gap:14px;align-items:flex-start}
#graph{flex:1;min-width:0;min-height:90px;overflow:auto;max-height:78vh;background:#fff;border:1px solid var(--line);border-radius:6px}
#graph svg{display:block}
#graph text{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;fill:var(--ink);pointer-events:none}
#graph text.sub{font-size:10px;fill:var(--muted)}
#graph .edges path{fill:none;stroke:#9aa5b1;stroke-width:1;marker-end:url(#arrow)}
#graph marker path{fill:#9aa5b1}
#graph g.node{cursor:pointer}
#graph g.node rect{stroke-width:1.3}
#graph g.node rect.stack{fill:#fff;stroke:#c3cad1}
#graph g.node.state-fresh>rect:not(.stack){fill:var(--fresh-bg);stroke:var(--fresh)}
#graph g.node.state-stale>rect:not(.stack){fill:var(--stale-bg);stroke:var(--stale)}
#graph g.node.state-missing>rect:not(.stack){fill:var(--missing-bg);stroke:var(--missing);stroke-dasharray:4 2}
#graph g.node.state-failed>rect:not(.stack){fill:var(--failed-bg);stroke:var(--failed);stroke-width:2}
#graph g.node.group>rect:not(.stack){stroke-width:1.8}
#graph g.node.selected>rect:not(.stack){stroke:var(--accent);stroke-width:3}
#graph g.cluster>rect.frame{fill:#f6f8fa;stroke:#b9c2cb;stroke-dasharray:3 3}
#graph g.cluster.state-failed>rect.frame{stroke:var(--failed)}
#graph g.cluster.state-stale>rect.frame{stroke:var(--stale)}
#graph text.cluster-label{pointer-events:auto;cursor:pointer;fill:var(--muted)}
#details{width:380px;flex:none;max-height:78vh;overflow:auto;background:#fff;border:1px solid var(--line);border-radius:6px;padding:10px 12px;font-size:13px}
#details h3{margin:0 0 4px;font:600 13px ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
#details table{border-collapse:collapse;width:100%;margin:4px 0 8px}
#details td,#details th{text-align:left;padding:2px 4px;border-bottom:1px solid #eef0f2;vertical-align:top;word-break:break-all}
#details td.h,#details th{white-space:nowrap;word-break:normal}
#details code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
#details ul{margin:4px 0 8px;padding-left:18px}
#details a{color:var(--accent);cursor:pointer}
#details h4{margin:10px 0 2px;font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
.scroll{overflow:auto;max-height:70vh;border:1px solid var(--line);border-radius:6px;background:#fff}
table.data,table.diff{border-collapse:collapse;font-size:12.5px;width:max-content;min-width:100%}
table.data th,table.data td,table.diff th,table.diff td{padding:3px 8px;border-bottom:1px solid #eef0f2;text-align:left;white-space:nowrap}
table.data thead th,table.diff thead th{position:sticky;top:0;background:#f3f5f7;z-index:1}
table.data th[data-sort]{cursor:pointer;user-select:none}
table.data th[aria-sort=ascending]::after{content:" ▲"}table.data th[aria-sort=descending]::after{content:" ▼"}
table.data td.num,table.diff td.num{text-align:right;font-variant-numeric:tabular-nums}
table.diff tr.file th{background:#fafbfc;font-weight:600}
table.diff td.up{color:var(--fresh)}table.diff td.down{color:var(--failed)}
.charts{display:flex;gap:16px;flex-wrap:wrap;margin-top:12px}
.chart-box{flex:1 1 520px;min-width:360px;background:#fff;border:1px solid var(--line);border-radius:6px;padding:8px}
.chart-box .canvas{position:relative;height:300px}
p.empty{color:var(--muted);font-style:italic}
#timeline{overflow:auto;background:#fff;border:1px solid var(--line);border-radius:6px}
#timeline svg{display:block}
#timeline text{font:11px system-ui,sans-serif;fill:var(--muted)}
#timeline .lane{fill:#fff}#timeline .lane.odd{fill:#f6f8fa}
#timeline .lane-label{text-anchor:end}
#timeline .axis line{stroke:#e3e7eb}#timeline .axis text{text-anchor:middle}
#timeline rect.bar{cursor:pointer;fill:#6d9bd8;stroke:#3b6fb6;stroke-width:.6}
#timeline rect.bar.restored{fill:#b8c4d0;stroke:#8795a3}
#timeline rect.bar.failed{fill:#e57373;stroke:var(--failed)}
#timeline rect.bar.critical{fill:#f0a030;stroke:#a35f00;stroke-width:1.2}
#timeline rect.bar.selected{stroke:#000;stroke-width:2}
.legend span{margin-right:10px}
@media (max-width:1000px){.graph-wrap{flex-direction:column}#details{width:100%}}
`;
