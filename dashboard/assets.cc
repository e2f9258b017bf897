#include "dashboard/assets.h"

namespace unionsync::dashboard_assets {

// The page has no inline script or style (Content-Security-Policy
// default-src 'self'); every element the script fills has a stable id.
const char kIndexHtml[] = R"html(<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>工会实名制数据库 · 录入进度监测</title>
<link rel="stylesheet" href="/static/app.css">
<script src="/static/app.js" defer></script>
</head>
<body data-state="loading">
<header class="topbar">
  <div>
    <h1>工会组织和会员实名制数据库 · 录入进度监测</h1>
    <p class="sub"><span id="campaign"></span>　统计日期 <span id="as-of">—</span>　数据更新于 <span id="updated-at">—</span></p>
  </div>
  <div class="actions">
    <a id="export-csv" class="button" href="/api/progress.csv?view=regions" download>导出进度表（CSV）</a>
    <form method="post" action="/logout"><button id="logout" type="submit">退出登录</button></form>
  </div>
</header>
<div id="error" class="banner" role="alert" hidden></div>
<main>
  <section class="cards" aria-label="全市进度">
    <div class="card wide">
      <h2>已录入基层工会 / 预计</h2>
      <p class="big"><span id="city-grassroots">—</span><span class="of"> / <span id="city-expected-grassroots">—</span></span></p>
      <div class="bar"><div id="city-grassroots-bar" class="fill"></div><div id="city-grassroots-mark" class="mark"></div></div>
      <p class="note">完成 <span id="city-grassroots-ratio">—</span>　今日目标 <span id="city-target-grassroots">—</span></p>
    </div>
    <div class="card wide">
      <h2>会员人数 / 预计</h2>
      <p class="big"><span id="city-members">—</span><span class="of"> / <span id="city-expected-members">—</span></span></p>
      <div class="bar"><div id="city-members-bar" class="fill"></div><div id="city-members-mark" class="mark"></div></div>
      <p class="note">完成 <span id="city-members-ratio">—</span>　今日目标 <span id="city-target-members">—</span></p>
    </div>
    <div class="card">
      <h2>资料完整</h2>
      <p class="big" id="city-profile-complete">—</p>
      <p class="note">组织总数 <span id="city-orgs">—</span></p>
    </div>
    <div class="card">
      <h2>已激活</h2>
      <p class="big" id="city-activated">—</p>
      <p class="note">已修改初始密码的组织</p>
    </div>
    <div class="card">
      <h2>今日新增</h2>
      <p class="mid"><span id="city-new-grassroots-today">—</span> 个基层工会</p>
      <p class="mid"><span id="city-new-members-today">—</span> 名会员</p>
    </div>
    <div class="card">
      <h2>本周新增</h2>
      <p class="mid"><span id="city-new-grassroots-week">—</span> 个基层工会</p>
      <p class="mid"><span id="city-new-members-week">—</span> 名会员</p>
    </div>
  </section>
  <p class="status-line">全市进度：<span id="city-status" class="badge">—</span>　未处理预警 <span id="city-open-warnings">—</span> 条</p>

  <section class="panel">
    <h2>阶段目标</h2>
    <ul id="milestones" class="milestones"></ul>
  </section>

  <section class="panel">
    <h2>录入趋势（全市）</h2>
    <div class="charts">
      <figure><figcaption>基层工会（个）</figcaption><svg id="chart-grassroots" class="chart" viewBox="0 0 640 200" role="img" aria-label="基层工会录入趋势"></svg></figure>
      <figure><figcaption>会员人数（名）</figcaption><svg id="chart-members" class="chart" viewBox="0 0 640 200" role="img" aria-label="会员录入趋势"></svg></figure>
    </div>
    <p class="legend"><span class="key actual"></span>已录入　<span class="key target"></span>目标进度</p>
  </section>

  <section class="panel">
    <h2>按区域</h2>
    <table id="regions" class="data">
      <thead><tr><th>区域</th><th>已录入基层工会</th><th>预计</th><th>基层工会进度</th><th>会员人数</th><th>预计会员</th><th>会员进度</th><th>资料完整</th><th>已激活</th><th>今日新增</th><th>本周新增</th><th>预警</th><th>状态</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>

  <section class="panel">
    <h2>按系统</h2>
    <table id="systems" class="data">
      <thead><tr><th>系统</th><th>已录入基层工会</th><th>预计</th><th>基层工会进度</th><th>会员人数</th><th>预计会员</th><th>会员进度</th><th>资料完整</th><th>已激活</th><th>今日新增</th><th>本周新增</th><th>预警</th><th>状态</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>

  <section class="panel">
    <h2>预警</h2>
    <table id="warnings" class="data">
      <thead><tr><th>严重程度</th><th>组织</th><th>内容</th><th>发生时间</th><th>已上报上级</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>

  <div class="two">
    <section class="panel">
      <h2>数据冲突</h2>
      <table id="conflicts" class="data">
        <thead><tr><th>类型</th><th>说明</th><th>涉及组织</th><th>发现时间</th><th>状态</th></tr></thead>
        <tbody></tbody>
      </table>
    </section>
    <section class="panel">
      <h2>节点同步</h2>
      <table id="nodes" class="data">
        <thead><tr><th>节点</th><th>最近同步</th><th>状态</th></tr></thead>
        <tbody></tbody>
      </table>
    </section>
  </div>
</main>
<footer>数据每 10 秒自动刷新（数据冲突每分钟）。本页只显示统计数字，不含个人信息。</footer>
</body>
</html>
)html";

const char kLoginHtmlHead[] = R"html(<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>登录 · 工会实名制数据库</title>
<link rel="stylesheet" href="/static/app.css">
</head>
<body class="login-body">
<main class="login">
<h1>工会组织和会员实名制数据库</h1>
<p class="sub">录入进度监测 · 请使用本级工会的账号登录</p>
)html";

const char kLoginHtmlFormStart[] =
    R"html(<form id="login-form" method="post" action="/login">
<label for="username">用户名</label>
<input id="username" name="username" type="text" autocomplete="username" maxlength="64" required autofocus value=")html";

const char kLoginHtmlFormEnd[] = R"html(">
<label for="password">密码</label>
<input id="password" name="password" type="password" autocomplete="current-password" maxlength="1024" required>
<button id="login" type="submit">登录</button>
</form>
<p class="hint">初始密码或被重置的密码须先用 <code>unionctl passwd</code> 修改后才能登录。</p>
</main>
</body>
</html>
)html";

const char kAppCss[] = R"css(:root {
  --fg: #1f2933; --muted: #616e7c; --line: #d9dee4; --bg: #f4f6f8;
  --card: #ffffff; --accent: #c8161d; --ok: #2f855a; --warn: #b7791f;
  --bad: #c53030; --target: #4a5568;
}
* { box-sizing: border-box; }
body {
  margin: 0; background: var(--bg); color: var(--fg);
  font-family: "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC",
    "PingFang SC", "Microsoft YaHei", sans-serif;
  font-size: 14px; line-height: 1.5;
}
h1 { font-size: 20px; margin: 0; }
h2 { font-size: 15px; margin: 0 0 8px; color: var(--muted); font-weight: 600; }
.topbar {
  display: flex; justify-content: space-between; align-items: center;
  background: var(--accent); color: #fff; padding: 12px 24px;
}
.topbar .sub { margin: 2px 0 0; opacity: 0.9; font-size: 13px; }
.actions { display: flex; gap: 12px; align-items: center; }
.actions form { margin: 0; }
.button, button {
  display: inline-block; border: 1px solid #fff; background: transparent;
  color: #fff; padding: 5px 12px; border-radius: 4px; font: inherit;
  cursor: pointer; text-decoration: none;
}
.banner { background: #fff5f5; color: var(--bad); border-bottom: 1px solid #feb2b2;
  padding: 8px 24px; }
main { padding: 16px 24px; }
.cards { display: grid; grid-template-columns: 2fr 2fr 1fr 1fr 1fr 1fr; gap: 12px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px;
  padding: 12px 14px; }
.card .big { font-size: 26px; font-weight: 700; margin: 0; }
.card .of { font-size: 16px; color: var(--muted); font-weight: 400; }
.card .mid { font-size: 16px; font-weight: 600; margin: 0; }
.card .note { margin: 6px 0 0; color: var(--muted); font-size: 12px; }
.bar { position: relative; height: 10px; background: #edf2f7; border-radius: 5px;
  overflow: hidden; min-width: 80px; }
.bar .fill { height: 100%; width: 0; background: var(--ok); }
.bar .fill.behind { background: var(--bad); }
.bar .mark { position: absolute; top: 0; bottom: 0; width: 2px; left: 0;
  background: var(--target); }
.card .bar { margin-top: 8px; }
.status-line { margin: 12px 0; }
.badge { display: inline-block; padding: 0 8px; border-radius: 10px;
  background: #e6fffa; color: var(--ok); }
.badge.behind, .behind-tag { background: #fff5f5; color: var(--bad); }
.behind-tag { display: inline-block; padding: 0 6px; border-radius: 8px;
  font-weight: 700; }
.ok-tag { color: var(--ok); }
.panel { background: var(--card); border: 1px solid var(--line); border-radius: 6px;
  padding: 12px 14px; margin-top: 12px; }
.two { display: grid; grid-template-columns: 3fr 2fr; gap: 12px; }
.milestones { margin: 0; padding-left: 20px; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
figure { margin: 0; }
figcaption { color: var(--muted); font-size: 12px; }
.chart { width: 100%; height: auto; background: #fff; }
.chart .axis { stroke: #a0aec0; stroke-width: 1; }
.chart .grid { stroke: #edf2f7; stroke-width: 1; }
.chart .actual { fill: none; stroke: var(--accent); stroke-width: 2.5; }
.chart .target { fill: none; stroke: var(--target); stroke-width: 1.5;
  stroke-dasharray: 6 4; }
.chart text { fill: var(--muted); font-size: 11px; }
.chart .dot { fill: var(--accent); }
.legend { color: var(--muted); font-size: 12px; margin: 6px 0 0; }
.key { display: inline-block; width: 20px; height: 0; vertical-align: middle;
  margin: 0 4px 0 8px; }
.key.actual { border-top: 3px solid var(--accent); }
.key.target { border-top: 2px dashed var(--target); }
table.data { width: 100%; border-collapse: collapse; font-size: 13px; }
table.data th, table.data td { border-bottom: 1px solid var(--line);
  padding: 5px 6px; text-align: right; white-space: nowrap; }
table.data th:first-child, table.data td:first-child { text-align: left; }
table.data td.text { text-align: left; white-space: normal; }
table.data th { color: var(--muted); font-weight: 600; background: #f7fafc; }
table.data td.progress { min-width: 130px; }
table.data td.progress .bar { display: inline-block; width: 80px;
  vertical-align: middle; margin-right: 6px; }
table.data tr.empty td { color: var(--muted); text-align: left; }
.sev-SEVERITY_SERIOUS { color: var(--bad); font-weight: 700; }
.sev-SEVERITY_WARNING { color: var(--warn); font-weight: 600; }
.sev-SEVERITY_NOTICE { color: var(--muted); }
.stale { color: var(--bad); font-weight: 600; }
.late { color: var(--warn); }
footer { color: var(--muted); font-size: 12px; padding: 8px 24px 24px; }
.login-body { display: flex; justify-content: center; align-items: flex-start; }
.login { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  margin-top: 10vh; padding: 28px 32px; width: 380px; }
.login h1 { font-size: 18px; }
.login .sub { color: var(--muted); margin: 4px 0 16px; }
.login label { display: block; margin: 12px 0 4px; font-weight: 600; }
.login input { width: 100%; padding: 7px 8px; font: inherit;
  border: 1px solid var(--line); border-radius: 4px; }
.login button { margin-top: 18px; width: 100%; background: var(--accent);
  border-color: var(--accent); padding: 8px; }
.login-error { background: #fff5f5; color: var(--bad); border: 1px solid #feb2b2;
  border-radius: 4px; padding: 8px 10px; }
.hint { color: var(--muted); font-size: 12px; margin-top: 16px; }
)css";

// Vanilla JavaScript, no library. Never uses innerHTML with data: every text
// goes through textContent. int64 fields arrive as JSON strings (proto3 JSON
// mapping), hence Number() everywhere.
const char kAppJs[] = R"js('use strict';
(function () {
  var REFRESH_MS = 10000;
  var SVG_NS = 'http://www.w3.org/2000/svg';

  var SEVERITY = {
    SEVERITY_NOTICE: '提示', SEVERITY_WARNING: '预警', SEVERITY_SERIOUS: '严重'
  };
  var CONFLICT_KIND = {
    DUPLICATE_PERSON: '同一人员在两个工会在册',
    DUPLICATE_CREDIT_CODE: '统一社会信用代码重复',
    ORPHANED_RECORDS: '组织已撤销但仍有在册会员',
    TRANSFER_HALF_DONE: '会员转移未完成',
    INVALID_DATA: '数据不合规'
  };
  var CONFLICT_STATE = {
    CONFLICT_OPEN: '待处理', CONFLICT_RESOLVED: '已处理', CONFLICT_CLEARED: '已消除'
  };

  function $(id) { return document.getElementById(id); }
  function num(v) { var n = Number(v); return isFinite(n) ? n : 0; }
  function fmt(v) { return num(v).toLocaleString('zh-CN'); }
  function pct(r) { return (num(r) * 100).toFixed(1) + '%'; }
  function setText(id, text) { var e = $(id); if (e) e.textContent = text; }
  function fmtTime(ms) {
    var n = num(ms);
    if (n <= 0) return '—';
    return new Date(n).toLocaleString('zh-CN', {
      timeZone: 'Asia/Shanghai', hour12: false
    });
  }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function ratioOf(done, expected, given) {
    if (given !== undefined && num(given) > 0) return num(given);
    return num(expected) > 0 ? num(done) / num(expected) : 0;
  }

  function ApiError(status, message) {
    this.status = status; this.message = message;
  }

  function getJson(url) {
    return fetch(url, { credentials: 'same-origin', cache: 'no-store' })
      .then(function (res) {
        if (res.status === 401) {
          window.location.assign('/login');
          throw new ApiError(401, '未登录或会话已过期');
        }
        return res.json().catch(function () { return {}; }).then(function (body) {
          if (!res.ok) {
            throw new ApiError(res.status, body.error || ('HTTP ' + res.status));
          }
          return body;
        });
      });
  }

  // A progress bar: fill = done/expected, a mark at today's target; red when
  // the scope is behind and this figure is short of its target.
  function bar(ratio, targetRatio, behind, fillEl, markEl) {
    behind = behind && ratio < targetRatio;
    var b = fillEl ? null : el('div', null, 'bar');
    var fill = fillEl || el('div', null, 'fill');
    var mark = markEl || el('div', null, 'mark');
    fill.style.width = Math.max(0, Math.min(100, ratio * 100)).toFixed(1) + '%';
    fill.className = behind ? 'fill behind' : 'fill';
    if (targetRatio > 0) {
      mark.hidden = false;
      mark.style.left = Math.min(100, targetRatio * 100).toFixed(1) + '%';
    } else {
      mark.hidden = true;
    }
    if (b) { b.appendChild(fill); b.appendChild(mark); }
    return b;
  }

  function renderTotals(resp) {
    var t = resp.total || {};
    setText('campaign', resp.campaign || '');
    setText('as-of', resp.as_of_date || '—');
    setText('city-grassroots', fmt(t.grassroots));
    setText('city-expected-grassroots', num(t.expected_grassroots) > 0 ? fmt(t.expected_grassroots) : '—');
    setText('city-members', fmt(t.members));
    setText('city-expected-members', num(t.expected_members) > 0 ? fmt(t.expected_members) : '—');
    setText('city-profile-complete', fmt(t.profile_complete));
    setText('city-orgs', fmt(t.orgs));
    setText('city-activated', fmt(t.activated));
    setText('city-new-grassroots-today', fmt(t.new_grassroots_today));
    setText('city-new-members-today', fmt(t.new_members_today));
    setText('city-new-grassroots-week', fmt(t.new_grassroots_week));
    setText('city-new-members-week', fmt(t.new_members_week));
    setText('city-target-grassroots', fmt(t.target_grassroots_today));
    setText('city-target-members', fmt(t.target_members_today));
    setText('city-open-warnings', fmt(t.open_warnings));
    var gr = ratioOf(t.grassroots, t.expected_grassroots, t.grassroots_ratio);
    var mr = ratioOf(t.members, t.expected_members, t.members_ratio);
    setText('city-grassroots-ratio', num(t.expected_grassroots) > 0 ? pct(gr) : '—');
    setText('city-members-ratio', num(t.expected_members) > 0 ? pct(mr) : '—');
    bar(gr, ratioOf(t.target_grassroots_today, t.expected_grassroots), t.behind,
        $('city-grassroots-bar'), $('city-grassroots-mark'));
    bar(mr, ratioOf(t.target_members_today, t.expected_members), t.behind,
        $('city-members-bar'), $('city-members-mark'));
    var status = $('city-status');
    status.textContent = t.behind ? '落后' : '正常';
    status.className = t.behind ? 'badge behind' : 'badge';

    var ul = $('milestones');
    ul.textContent = '';
    (resp.milestones || []).forEach(function (m) {
      var members = num(m.members) > 0 ? '会员不少于 ' + fmt(m.members) + ' 名'
          : (num(m.members_fraction) > 0 ? '会员达到预计的 ' + pct(m.members_fraction) : '');
      var text = m.date + ' 前：基层工会录入不少于预计的 ' + pct(m.grassroots_fraction) +
          (members ? '，' + members : '');
      ul.appendChild(el('li', text));
    });
    if (!ul.firstChild) ul.appendChild(el('li', '未配置阶段目标'));
  }

  function emptyRow(tbody, cols, text) {
    var tr = el('tr', null, 'empty');
    var td = el('td', text);
    td.colSpan = cols;
    tr.appendChild(td);
    tbody.appendChild(tr);
  }

  function renderRows(tableId, resp) {
    var tbody = $(tableId).tBodies[0];
    tbody.textContent = '';
    var rows = resp.rows || [];
    rows.forEach(function (p) {
      var tr = el('tr');
      tr.setAttribute('data-scope', p.scope || '');
      var gr = ratioOf(p.grassroots, p.expected_grassroots, p.grassroots_ratio);
      var mr = ratioOf(p.members, p.expected_members, p.members_ratio);
      tr.appendChild(el('td', p.label || p.scope, 'name'));
      tr.appendChild(el('td', fmt(p.grassroots), 'grassroots'));
      tr.appendChild(el('td', num(p.expected_grassroots) > 0 ? fmt(p.expected_grassroots) : '—', 'expected'));
      var g = el('td', null, 'progress');
      g.appendChild(bar(gr, ratioOf(p.target_grassroots_today, p.expected_grassroots), p.behind));
      g.appendChild(el('span', num(p.expected_grassroots) > 0 ? pct(gr) : '—'));
      tr.appendChild(g);
      tr.appendChild(el('td', fmt(p.members), 'members'));
      tr.appendChild(el('td', num(p.expected_members) > 0 ? fmt(p.expected_members) : '—'));
      var m = el('td', null, 'progress');
      m.appendChild(bar(mr, ratioOf(p.target_members_today, p.expected_members), p.behind));
      m.appendChild(el('span', num(p.expected_members) > 0 ? pct(mr) : '—'));
      tr.appendChild(m);
      tr.appendChild(el('td', fmt(p.profile_complete)));
      tr.appendChild(el('td', fmt(p.activated)));
      tr.appendChild(el('td', fmt(p.new_grassroots_today) + ' / ' + fmt(p.new_members_today)));
      tr.appendChild(el('td', fmt(p.new_grassroots_week) + ' / ' + fmt(p.new_members_week)));
      tr.appendChild(el('td', fmt(p.open_warnings)));
      var s = el('td', null, 'state');
      s.appendChild(p.behind ? el('span', '落后', 'behind-tag') : el('span', '正常', 'ok-tag'));
      tr.appendChild(s);
      tbody.appendChild(tr);
    });
    if (!rows.length) emptyRow(tbody, 13, '暂无数据');
  }

  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVG_NS, tag);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // One line chart: the actual cumulative figure against the target
  // trajectory, dates along x.
  function renderChart(svgId, points, actualKey, targetKey) {
    var root = $(svgId);
    root.textContent = '';
    var W = 640, H = 200, L = 64, R = 16, T = 12, B = 28;
    if (!points.length) {
      root.appendChild(svg('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle' }, '暂无数据'));
      return;
    }
    var max = 0;
    points.forEach(function (p) {
      max = Math.max(max, num(p[actualKey]), num(p[targetKey]));
    });
    // Whole-number gridlines at 1, 2 or 5 times a power of ten.
    var raw = Math.max(max, 1) / 4;
    var mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var f = raw / mag;
    var step = Math.max(1, (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag);
    max = Math.max(step, Math.ceil(Math.max(max, 1) / step) * step);
    var n = points.length;
    function x(i) { return L + (n === 1 ? (W - L - R) / 2 : i * (W - L - R) / (n - 1)); }
    function y(v) { return T + (H - T - B) * (1 - num(v) / max); }
    for (var v = 0; v <= max + step / 2; v += step) {
      root.appendChild(svg('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), 'class': 'grid' }));
      root.appendChild(svg('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end' },
          Math.round(v).toLocaleString('zh-CN')));
    }
    root.appendChild(svg('line', { x1: L, x2: L, y1: T, y2: H - B, 'class': 'axis' }));
    root.appendChild(svg('line', { x1: L, x2: W - R, y1: H - B, y2: H - B, 'class': 'axis' }));
    root.appendChild(svg('text', { x: x(0), y: H - 10, 'text-anchor': 'start' }, points[0].date));
    if (n > 1) {
      root.appendChild(svg('text', { x: x(n - 1), y: H - 10, 'text-anchor': 'end' }, points[n - 1].date));
    }
    function line(key, cls) {
      var d = points.map(function (p, i) { return x(i).toFixed(1) + ',' + y(p[key]).toFixed(1); });
      root.appendChild(svg('polyline', { points: d.join(' '), 'class': cls }));
    }
    line(targetKey, 'target');
    line(actualKey, 'actual');
    var last = points[n - 1];
    root.appendChild(svg('circle', { cx: x(n - 1), cy: y(last[actualKey]), r: 3.5, 'class': 'dot' }));
  }

  function renderTimeSeries(resp) {
    var points = resp.points || [];
    renderChart('chart-grassroots', points, 'grassroots', 'target_grassroots');
    renderChart('chart-members', points, 'members', 'target_members');
  }

  function renderWarnings(resp) {
    var tbody = $('warnings').tBodies[0];
    tbody.textContent = '';
    var list = resp.warnings || [];
    list.forEach(function (w) {
      var tr = el('tr');
      tr.setAttribute('data-id', w.id || '');
      tr.appendChild(el('td', SEVERITY[w.severity] || w.severity, 'sev-' + w.severity));
      tr.appendChild(el('td', w.org_id, 'text'));
      tr.appendChild(el('td', w.text, 'text'));
      tr.appendChild(el('td', fmtTime(w.raised_at_ms)));
      tr.appendChild(el('td', w.escalated_to ? '是（' + w.escalated_to + '）' : '否'));
      tbody.appendChild(tr);
    });
    if (!list.length) emptyRow(tbody, 5, '暂无未处理的预警');
  }

  function renderConflicts(resp) {
    var tbody = $('conflicts').tBodies[0];
    tbody.textContent = '';
    var list = resp.conflicts || [];
    list.forEach(function (c) {
      var tr = el('tr');
      tr.setAttribute('data-id', c.id || '');
      tr.appendChild(el('td', CONFLICT_KIND[c.kind] || c.kind, 'text'));
      tr.appendChild(el('td', c.detail, 'text'));
      var orgs = (c.sides || []).map(function (s) { return s.org_id; });
      tr.appendChild(el('td', orgs.join('、'), 'text'));
      tr.appendChild(el('td', fmtTime(c.detected_at_ms)));
      tr.appendChild(el('td', CONFLICT_STATE[c.state] || c.state));
      tbody.appendChild(tr);
    });
    if (!list.length) emptyRow(tbody, 5, '暂无待处理的冲突');
  }

  function renderNodes(resp) {
    var tbody = $('nodes').tBodies[0];
    tbody.textContent = '';
    var list = resp.nodes || [];
    list.forEach(function (nd) {
      var tr = el('tr');
      tr.setAttribute('data-node', nd.node_id || '');
      tr.appendChild(el('td', (nd.org_name ? nd.org_name + '（' + nd.node_id + '）' : nd.node_id), 'text'));
      var last = Math.max(num(nd.last_change_ms), num(nd.last_contact_ms));
      tr.appendChild(el('td', last > 0 ? fmtTime(last) : '从未同步'));
      var stale = num(nd.stale_seconds);
      var text, cls;
      if (last <= 0) { text = '从未同步'; cls = 'stale'; }
      else if (stale >= 86400) { text = '超过 24 小时未同步'; cls = 'stale'; }
      else if (stale >= 3600) { text = '延迟 ' + Math.floor(stale / 3600) + ' 小时'; cls = 'late'; }
      else { text = '正常'; cls = 'ok-tag'; }
      if (nd.connected) text += '（在线）';
      tr.appendChild(el('td', text, cls));
      tbody.appendChild(tr);
    });
    if (!list.length) emptyRow(tbody, 3, '暂无下级节点');
  }

  function sectionError(tableId, cols, err) {
    var tbody = $(tableId).tBodies[0];
    tbody.textContent = '';
    emptyRow(tbody, cols, err.status === 403 ? '无权查看' : ('读取失败：' + err.message));
  }

  // Conflicts hold personal data: every read of them is audited by the node
  // (and refused, also audited, for accounts that may not see them). They are
  // read every CONFLICT_EVERY refreshes only, and never again after a refusal.
  var CONFLICT_EVERY = 6;
  var conflictsAllowed = true;
  var cycle = 0;
  var refreshing = false;
  function refresh() {
    if (refreshing) return;
    refreshing = true;
    var withConflicts = conflictsAllowed && cycle % CONFLICT_EVERY === 0;
    cycle++;
    var errors = [];
    function note(err) { if (err && err.status !== 401) errors.push(err.message || String(err)); }
    var jobs = [
      getJson('/api/progress?view=city').then(renderTotals, note),
      getJson('/api/progress?view=regions').then(function (r) { renderRows('regions', r); },
          function (e) { sectionError('regions', 13, e); note(e); }),
      getJson('/api/progress?view=systems').then(function (r) { renderRows('systems', r); },
          function (e) { sectionError('systems', 13, e); note(e); }),
      getJson('/api/timeseries?scope=city').then(renderTimeSeries, note),
      getJson('/api/warnings').then(renderWarnings,
          function (e) { sectionError('warnings', 5, e); note(e); }),
      withConflicts ? getJson('/api/conflicts').then(renderConflicts, function (e) {
        sectionError('conflicts', 5, e);
        if (e.status === 403) { conflictsAllowed = false; } else { note(e); }
      }) : Promise.resolve(),
      getJson('/api/freshness').then(renderNodes,
          function (e) { sectionError('nodes', 3, e); note(e); })
    ];
    Promise.all(jobs.map(function (j) { return j.catch(note); })).then(function () {
      refreshing = false;
      var banner = $('error');
      if (errors.length) {
        banner.textContent = '部分数据读取失败：' + errors.join('；');
        banner.hidden = false;
      } else {
        banner.hidden = true;
      }
      setText('updated-at', fmtTime(Date.now()));
      document.body.setAttribute('data-state', errors.length ? 'error' : 'ready');
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    refresh();
    window.setInterval(refresh, REFRESH_MS);
  });
})();
)js";

}  // namespace unionsync::dashboard_assets
