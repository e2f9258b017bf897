// 本单位: the union's registration, its profile with a completeness meter, and
// the live GB 32100 check of the credit code.
'use strict';

(function () {
  const { $, state, api, text, showAlert } = WB;

  // GB 11643 (ID number) and GB 32100 (credit code) check characters.
  WB.idNumberProblem = (v) => {
    if (!/^\d{17}[\dX]$/.test(v)) return '应为18位：17位数字，最后一位是数字或 X';
    const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum = 0;
    for (let i = 0; i < 17; i++) sum += Number(v[i]) * w[i];
    if ('10X98765432'[sum % 11] !== v[17]) return '校验位不对，请核对号码';
    return '';
  };
  WB.creditCodeProblem = (v) => {
    const chars = '0123456789ABCDEFGHJKLMNPQRTUWXY';
    if (!/^[0-9A-HJ-NPQRTUWXY]{18}$/.test(v)) return '应为18位数字或大写字母（不含 I、O、Z、S、V）';
    const w = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
    let sum = 0;
    for (let i = 0; i < 17; i++) sum += chars.indexOf(v[i]) * w[i];
    if (chars[(31 - (sum % 31)) % 31] !== v[17]) return '校验位不对，请核对代码';
    return '';
  };
  WB.liveCheck = (input, errorId, problemOf) => {
    input.addEventListener('input', () => {
      const v = input.value.trim().toUpperCase();
      const p = v ? problemOf(v) : '';
      input.classList.toggle('is-invalid', !!p);
      input.classList.toggle('is-valid', !!v && !p);
      text(errorId, p);
    });
  };

  async function load() {
    try {
      const { org } = await api('AdminService.GetOrg', { orgId: state.who.orgId });
      const dl = WB.clear('unit-registration');
      for (const [k, v] of [['组织编号', org.id], ['名称', org.name], ['类别', WB.kinds[org.kind] || org.kind],
        ['上级组织', org.parentId || '—'], ['所属区域', org.region || '—'], ['所属系统', org.system || '—']]) {
        dl.append(WB.el('dt', 'col-sm-2', k), WB.el('dd', 'col-sm-10', v));
      }
      text('unit-completeness', org.profileCompleteness);
      $('unit-completeness-bar').style.width = org.profileCompleteness + '%';
      const editable = state.who.role === 'DATA_ADMIN';
      WB.show('unit-form', editable);
      if (!editable) return;
      $('unit-credit').value = org.creditCode || '';
      $('unit-founding').value = org.foundingDate || '';
      $('unit-address').value = org.address || '';
      $('unit-employees').value = org.employeeCount || '';
      $('unit-chair').value = (org.chair || {}).name || '';
      $('unit-chair-phone').value = (org.chair || {}).phone || '';
      $('unit-contact').value = (org.contact || {}).name || '';
      $('unit-contact-phone').value = (org.contact || {}).phone || '';
      $('unit-admin').value = (org.dataAdmin || {}).name || '';
    } catch (e) { showAlert(e.text); }
  }
  WB.liveCheck($('unit-credit'), 'unit-credit-error', WB.creditCodeProblem);
  $('unit-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    text('unit-error', '');
    text('unit-saved', '');
    const profile = {
      creditCode: $('unit-credit').value.trim().toUpperCase(),
      foundingDate: $('unit-founding').value.trim(),
      address: $('unit-address').value.trim(),
      employeeCount: Number($('unit-employees').value.trim() || 0),
      chair: { name: $('unit-chair').value.trim(), phone: $('unit-chair-phone').value.trim() },
      contact: { name: $('unit-contact').value.trim(), phone: $('unit-contact-phone').value.trim() },
      dataAdmin: { name: $('unit-admin').value.trim() },
    };
    try {
      await api('AdminService.UpdateOrgProfile', { orgId: state.who.orgId, profile });
      text('unit-saved', '已保存。');
      await load();
    } catch (e) { text('unit-error', e.text); }
  });

  WB.view('unit', { title: '本单位', roles: ['DATA_ADMIN', 'REVIEWER', 'UNIT_LEADER', 'OPERATOR'], load });
})();
