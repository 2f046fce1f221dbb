import { describe, expect, it } from 'vitest';
import { escapeHtml, html } from '../../../src/http/ui/html.js';

describe('html templates', () => {
  it('escape every interpolated string, in text and in quoted attributes', () => {
    const hostile = `<script>alert(1)</script><img src=x onerror="alert('2')">\`&`;
    const out = html`<p title="${hostile}">${hostile}</p>`.markup;
    expect(out).toBe(
      '<p title="&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&quot;alert(&#39;2&#39;)&quot;&gt;&#96;&amp;">' +
        '&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&quot;alert(&#39;2&#39;)&quot;&gt;&#96;&amp;</p>',
    );
    expect(escapeHtml('a&b')).toBe('a&amp;b');
  });

  it('insert nested templates as markup, join arrays, and drop null, undefined and false', () => {
    const items = ['<a>', 'b'].map((x) => html`<li>${x}</li>`);
    const out = html`<ul>${items}</ul>${null}${undefined}${false}${0}`.markup;
    expect(out).toBe('<ul><li>&lt;a&gt;</li><li>b</li></ul>0');
  });

  it('do not treat an object that merely looks like markup as markup', () => {
    const fake = { markup: '<script>x</script>', toString: () => '<b>' };
    expect(html`${fake}`.markup).toBe('&lt;b&gt;');
  });
});
