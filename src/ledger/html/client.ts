/**
 * The report's one script, inlined and allowed by its SHA-256 in the page's Content-Security-Policy. It reads the
 * embedded JSON with JSON.parse and builds the table with DOM calls and textContent only — never innerHTML — so a
 * value is always text. Links are made only of http(s) URLs. Search and filters run in the page (no server); the
 * table is drawn a page of rows at a time so a large ledger renders at once.
 * Kept as plain ES2017 text (no template literals), tested in Chromium by test/e2e/report-browser.test.ts.
 */
export const CLIENT_SCRIPT = String.raw`
(function () {
  'use strict';
  var PAGE = 100;
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var items = data.items;
  var $ = function (id) { return document.getElementById(id); };
  var q = $('q'), fStatus = $('f-status'), fRelease = $('f-release'), fRefused = $('f-refused');
  var tbody = $('items-body'), count = $('count'), more = $('more');
  var limit = PAGE;
  var matches = [];

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function isHttp(s) {
    if (typeof s !== 'string' || !/^https?:\/\//i.test(s)) return false;
    try { var u = new URL(s); return u.protocol === 'https:' || u.protocol === 'http:'; } catch (e) { return false; }
  }
  function linkOrText(s) {
    if (!isHttp(s)) return el('span', 'v', s);
    var a = el('a', 'v', s);
    a.href = s;
    a.rel = 'noopener noreferrer';
    return a;
  }
  function line(parent, label, value, asLink) {
    if (value === null || value === undefined || value === '') return;
    var d = el('div', 'kv');
    d.appendChild(el('span', 'k', label + ': '));
    d.appendChild(asLink ? linkOrText(value) : el('span', 'v', value));
    parent.appendChild(d);
  }
  function statusLabel(s) {
    return { mirrored: 'mirrored', verified: 'verified, not copied', refused: 'REFUSED', unverified: 'UNVERIFIED copy', composed: 'composed by airlock' }[s] || s;
  }

  var hay = items.map(function (it) {
    var parts = [it.status, statusLabel(it.status), it.release, it.image, it.tag, it.digest, it.what];
    if (it.signer) parts.push(it.signer.identity, it.signer.issuer, it.signer.sourceRepositoryUri, it.signer.sourceRepositoryRef, it.signer.logIndex);
    if (it.refusal) parts.push(it.refusal.code, it.refusal.check, it.refusal.plain, it.refusal.message);
    it.copies.forEach(function (c) { parts.push(c.target); });
    return parts.filter(function (p) { return p !== null && p !== undefined; }).join('\n').toLowerCase();
  });

  var releases = [];
  items.forEach(function (it) { if (it.release && releases.indexOf(it.release) < 0) releases.push(it.release); });
  releases.sort().reverse().forEach(function (r) { var o = el('option', null, r); o.value = r; fRelease.appendChild(o); });

  function row(it) {
    var tr = el('tr', 'st-' + it.status);
    tr.appendChild(el('td', 'status', statusLabel(it.status)));
    tr.appendChild(el('td', null, it.release || '—'));
    var img = el('td');
    img.appendChild(el('div', 'v img', it.image || '—'));
    line(img, 'tag', it.tag);
    line(img, 'digest', it.digest);
    if (it.what) line(img, 'what', it.what);
    tr.appendChild(img);
    if (it.refusal) {
      var why = el('td', 'reason');
      why.colSpan = 3;
      why.appendChild(el('div', 'plain', it.refusal.plain));
      why.appendChild(el('div', 'msg', it.refusal.message));
      line(why, 'code', it.refusal.code + (it.refusal.check ? ' (' + it.refusal.check + ' check)' : ''));
      line(why, 'when', it.time);
      tr.appendChild(why);
    } else {
      var who = el('td');
      if (it.signer) {
        line(who, 'identity', it.signer.identity, true);
        line(who, 'issuer', it.signer.issuer, true);
        line(who, 'source repository', it.signer.sourceRepositoryUri, true);
        line(who, 'ref', it.signer.sourceRepositoryRef);
        line(who, 'Rekor log index', it.signer.logIndex);
        line(who, 'logged', it.signer.logTime);
      } else {
        who.appendChild(el('span', 'none', it.status === 'unverified' ? 'not verified (--insecure-skip-verify)' : 'no signer recorded'));
      }
      tr.appendChild(who);
      var copies = el('td');
      it.copies.forEach(function (c) { line(copies, c.time, c.target); });
      if (it.signatures) line(copies, 'signature objects', it.signatures);
      if (!it.copies.length) copies.appendChild(el('span', 'none', 'not copied'));
      tr.appendChild(copies);
      tr.appendChild(el('td', null, it.time));
    }
    tr.appendChild(el('td', 'seqs', it.seqs.join(' ')));
    return tr;
  }

  function compute() {
    var words = q.value.toLowerCase().split(/\s+/).filter(Boolean);
    var st = fStatus.value, rel = fRelease.value, onlyRefused = fRefused.checked;
    matches = [];
    for (var i = 0; i < items.length; i++) {
      var it = items[i];
      if (st && it.status !== st) continue;
      if (onlyRefused && it.status !== 'refused') continue;
      if (rel && it.release !== rel) continue;
      var ok = true;
      for (var w = 0; w < words.length && ok; w++) ok = hay[i].indexOf(words[w]) >= 0;
      if (ok) matches.push(it);
    }
  }
  function draw() {
    var frag = document.createDocumentFragment();
    var n = Math.min(limit, matches.length);
    for (var i = 0; i < n; i++) frag.appendChild(row(matches[i]));
    tbody.replaceChildren(frag);
    count.textContent = 'Showing ' + n + ' of ' + matches.length + ' matching (' + items.length + ' in all)';
    more.hidden = n >= matches.length;
  }
  function update() { limit = PAGE; compute(); draw(); }

  q.addEventListener('input', update);
  fStatus.addEventListener('change', update);
  fRelease.addEventListener('change', update);
  fRefused.addEventListener('change', update);
  more.addEventListener('click', function () { limit += PAGE; draw(); });
  $('controls').hidden = false;
  $('noscript-note').hidden = true;
  update();
  document.documentElement.setAttribute('data-rendered', String(tbody.rows.length));
  if (window.performance && performance.mark) performance.mark('report-rendered');
})();
`;
