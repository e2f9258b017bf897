// 会员: the union's members, paged and masked (ID and phone numbers), with
// search and filters; add and edit with the live GB 11643 check; transfer and
// remove; one member's full numbers only on an explicit, audited action.
'use strict';

(function () {
  const { $, state, api, text, show, showAlert, cell, el, button } = WB;
  const fields = ['member-name', 'member-id-number', 'member-phone', 'member-join', 'member-workplace', 'member-card'];

  async function load(more) {
    const rows = $('member-rows');
    if (!more) { rows.textContent = ''; state.membersToken = ''; }
    try {
      const r = await api('AdminService.ListMembers', {
        orgId: state.who.orgId, pageSize: 50, pageToken: state.membersToken || '',
        namePrefix: $('member-name-prefix').value.trim(),
        migrantOnly: $('member-filter-migrant').checked,
        includeRemoved: $('member-filter-removed').checked,
      });
      for (const m of r.members || []) {
        const tr = el('tr');
        cell(tr, m.name); cell(tr, m.gender === 'FEMALE' ? '女' : '男');
        cell(tr, m.idNumber, 'masked'); cell(tr, m.phone || '—', 'masked'); cell(tr, m.workplace || '—');
        cell(tr, m.joinDate || '—');
        cell(tr, m.status === 'MEMBER_ACTIVE' ? '在册' : '已减员');
        const td = cell(tr, '');
        if (m.status === 'MEMBER_ACTIVE') {
          td.append(button('编辑', 'btn-link p-0 me-2', () => openForm(m)),
            button('转出', 'btn-link p-0 me-2', () => openMove(m)),
            button('查看完整号码', 'btn-link p-0', () => openReveal(m)));
        }
        rows.appendChild(tr);
      }
      state.membersToken = r.nextPageToken || '';
      show('member-more', !!state.membersToken);
      show('member-empty', !rows.children.length);
    } catch (e) { showAlert(e.text); }
  }
  $('member-search').addEventListener('submit', (ev) => { ev.preventDefault(); load(false); });
  $('member-more').addEventListener('click', () => load(true));

  // --- Add and edit (one form). ---
  function openForm(m) {
    state.editing = m || null;
    text('member-form-title', m ? '编辑会员：' + m.name : '新增会员');
    text('member-error', '');
    $('member-name').value = m ? m.name : '';
    $('member-id-number').value = m ? m.idNumber : '';
    $('member-phone').value = m ? (m.phone || '') : '';
    $('member-gender').value = m ? m.gender : 'MALE';
    $('member-ethnicity').value = m ? (m.ethnicity || '') : '汉族';
    $('member-join').value = m ? (m.joinDate || '') : '';
    $('member-workplace').value = m ? (m.workplace || '') : '';
    $('member-card').value = m ? (m.cardNumber || '') : '';
    $('member-migrant').checked = m ? !!m.migrantWorker : false;
    for (const id of fields) $(id).classList.remove('is-valid', 'is-invalid');
    text('member-id-number-error', '');
    regionConfirm(false);
    show('member-form', true);
    $('member-name').focus();
  }
  // A number whose region code no list has is saved only once the clerk has
  // checked the card and says so (the server audits it); the box shows when
  // the server refuses such a number.
  // The box is never ticked for the clerk: each confirmation is their own.
  function regionConfirm(on) {
    show('member-region-box', on);
    $('member-region-confirm').checked = false;
  }
  $('member-add-open').addEventListener('click', () => openForm(null));
  $('member-cancel').addEventListener('click', () => show('member-form', false));
  // A masked number read back is kept as stored (UpdateMember), so only a
  // number the clerk typed is checked here.
  WB.liveCheck($('member-id-number'), 'member-id-number-error',
    (v) => (v.indexOf('*') >= 0 ? '' : WB.idNumberProblem(v)));
  // GB 11643: the 17th digit is odd for men, even for women; fill it in.
  $('member-id-number').addEventListener('input', () => {
    regionConfirm(false);
    const v = $('member-id-number').value.trim().toUpperCase();
    if (!WB.idNumberProblem(v)) $('member-gender').value = Number(v[16]) % 2 ? 'MALE' : 'FEMALE';
  });
  $('member-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    text('member-error', '');
    const member = Object.assign({}, state.editing || {}, {
      name: $('member-name').value.trim(),
      idNumber: $('member-id-number').value.trim().toUpperCase(),
      phone: $('member-phone').value.trim(),
      gender: $('member-gender').value,
      ethnicity: $('member-ethnicity').value.trim(),
      joinDate: $('member-join').value.trim(),
      workplace: $('member-workplace').value.trim(),
      cardNumber: $('member-card').value.trim(),
      migrantWorker: $('member-migrant').checked,
    });
    // The code the clerk confirmed; a number read back masked shows it too.
    member.confirmedRegionCode =
      !$('member-region-box').hidden && $('member-region-confirm').checked
        ? member.idNumber.slice(0, 6) : '';
    try {
      await api(state.editing ? 'AdminService.UpdateMember' : 'AdminService.AddMember', { member });
      show('member-form', false);
      showAlert(state.editing ? '已保存。' : '已新增会员 ' + member.name + '。', true);
      await load(false);
    } catch (e) {
      text('member-error', e.text);
      if (e.text.indexOf('confirmed_region_code') >= 0) {
        text('member-error', '公民身份号码的前六位（地区码）' + member.idNumber.slice(0, 6) +
          '不在国家行政区划代码表（GB/T 2260）中。请核对身份证原件；如证件上确为此号码，' +
          '请勾选上方的确认框后再保存。');
        if ($('member-region-box').hidden) {
          regionConfirm(true);
          $('member-region-confirm').focus();
        }
      }
    }
  });

  // --- Transfer or remove. ---
  function openMove(m) {
    state.moving = m;
    text('move-title', '会员转出或减员：' + m.name);
    text('move-error', '');
    $('move-to').value = '';
    $('move-reason').value = '';
    show('move-box', true);
    $('move-to').focus();
  }
  $('move-close').addEventListener('click', () => show('move-box', false));
  async function moveAction(method, body, done) {
    text('move-error', '');
    try {
      await api('AdminService.' + method, Object.assign({ memberId: state.moving.id }, body));
      show('move-box', false);
      showAlert(done, true);
      await load(false);
    } catch (e) { text('move-error', e.text); }
  }
  $('move-transfer').addEventListener('click', () =>
    moveAction('TransferMember', { toOrgId: $('move-to').value.trim() }, '已转出。'));
  $('move-remove').addEventListener('click', () =>
    moveAction('RemoveMember', { reason: $('move-reason').value.trim() }, '已减员（记录保留，可在“含已减员”中查看）。'));

  // --- One member's full numbers, with a reason (audited). ---
  function openReveal(m) {
    state.revealId = m.id;
    text('reveal-result', m.name + '：');
    text('reveal-error', '');
    show('reveal-box', true);
    $('reveal-reason').focus();
  }
  $('reveal-close').addEventListener('click', () => { show('reveal-box', false); text('reveal-result', ''); });
  $('reveal-submit').addEventListener('click', async () => {
    text('reveal-error', '');
    try {
      const r = await api('AdminService.GetMember', { memberId: state.revealId, revealReason: $('reveal-reason').value.trim() });
      text('reveal-result', r.member.name + '：' + r.member.idNumber + (r.member.phone ? '，' + r.member.phone : ''));
    } catch (e) { text('reveal-error', e.text); }
  });

  WB.view('members', { title: '会员', roles: ['DATA_ADMIN'], grassrootsOnly: true, load: () => load(false) });
})();
