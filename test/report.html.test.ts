// renderHtmlReport: one self-contained HTML file (no scripts, no external URLs), one inline <svg> per chart, every
// payload and source string escaped, and a readable fallback for outputs that cannot be drawn.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { comparisonView, curvesView, heatmapView, masksView, metricsView,
  renderHtmlReport } from '../src/engine/report/index';
import { VIEW_MIME } from '../src/shared/viewPayloads';
import { sampleComparison, sampleEvaluation, sampleHeatmap, sampleWeightMasks } from './helpers/viewSamples';

describe('renderHtmlReport', () => {
  it('is self-contained, escapes everything and draws one SVG per chart', async () => {
    const heat = heatmapView(sampleHeatmap(), 'Heatmap <script>alert("title")</script>');
    const bad = { mime: VIEW_MIME.metrics, payload: { version: 99, title: 'future' },
      markdown: '**fallback of a future payload** <img src=x onerror=alert(1)>' };
    const html = await renderHtmlReport({
      title: 'Run <script>alert(0)</script>',
      cells: [
        {
          kind: 'markdown',
          source: '## Setup\n\nSee [the paper](https://arxiv.org/abs/2410.02159) and **bold** ' +
            'text.\n\n<script>alert(1)</script>\n\n![chart](http://example.com/x.png)\n\n<iframe ' +
            'src="evil.html"></iframe>',
          outputs: [],
        },
        { kind: 'step', source: 'step: train\nnote: "</code><script>alert(2)</script>"',
          outputs: [heat, curvesView([{ epoch: 1, loss: 2 }, { epoch: 2, loss: 1 }])] },
        { kind: 'step', source: 'step: compare',
          outputs: [comparisonView(sampleComparison()), metricsView(sampleEvaluation())] },
        { kind: 'step', source: 'step: inspect',
          outputs: [masksView({ ...sampleWeightMasks(), method: 'balanced-subnet', family: 'weight' }), bad] },
        { kind: 'step', source: 'step: mitigate',
          outputs: [{ mime: 'text/x-unknown', payload: null, markdown: 'plain *fallback*' }],
          error: 'failed: <b onmouseover="x()">boom</b>' },
      ],
    });
    // Five charts drew (heatmap, curves, comparison, metrics, masks); the future payload and unknown MIME did not.
    assert.equal((html.match(/<svg\b/g) ?? []).length, 5);
    // No script element anywhere, no event-handler attribute, no frame, nothing loaded from anywhere.
    assert.doesNotMatch(html, /<script/i);
    assert.doesNotMatch(html, /<[^>]*\son\w+\s*=/i);
    assert.doesNotMatch(html, /<iframe|<img\b|<object|<embed/i);
    assert.doesNotMatch(html, /<[^>]*\ssrc\s*=/i);
    assert.doesNotMatch(html, /https?:\/\//i, 'no URL at all, not even SVG namespaces');
    assert.doesNotMatch(html, /url\((?!#)/i, 'only in-document url(#id) references');
    for (const m of html.matchAll(/\shref="([^"]*)"/g)) assert.match(m[1]!, /^#/, `in-page links only, got ${m[1]}`);
    // Payload and source strings appear escaped.
    assert.match(html, /<title>Run &lt;script&gt;alert\(0\)&lt;\/script&gt;<\/title>/);
    assert.match(html, /&lt;\/code&gt;&lt;script&gt;alert\(2\)&lt;\/script&gt;/);
    assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.match(html, /&lt;iframe src=&quot;evil.html&quot;&gt;/);
    assert.match(html, /Heatmap &lt;script&gt;alert\(&quot;title&quot;\)/);
    assert.match(html, /GradientAscent &lt;script&gt;/);
    assert.match(html, /failed: &lt;b onmouseover=&quot;x\(\)&quot;&gt;boom&lt;\/b&gt;/);
    // Markdown is rendered; its external link and image become text.
    assert.match(html, /<h2>Setup<\/h2>/);
    assert.match(html, /<strong>bold<\/strong>/);
    assert.match(html, /the paper <span class="url">\(arxiv\.org\/abs\/2410\.02159\)<\/span>/);
    assert.match(html, /\[image: chart\]/);
    // Outputs that could not be drawn fall back to their markdown, with the reason.
    assert.match(html, /Chart not drawn: metrics payload: version must be 1, got 99/);
    assert.match(html, /<strong>fallback of a future payload<\/strong> &lt;img src=x onerror=alert\(1\)&gt;/);
    assert.match(html, /plain <em>fallback<\/em>/);
    // Cells are anchored for in-page links, in order.
    assert.deepEqual([...html.matchAll(/<section class="cell (\w+)" id="cell-(\d+)">/g)].map((m) => `${m[1]}${m[2]}`),
      ['markdown1', 'step2', 'step3', 'step4', 'step5']);
  });
});
