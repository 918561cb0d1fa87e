// The Saifu Demo Shop: offers the device's own time zone in the footer's chooser when the list
// does not have it. The chooser works without this script; it only adds one choice.
const select = document.getElementById('time-zone');
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
if (select && zone && ![...select.options].some((option) => option.value === zone)) {
  const label = (select.dataset.device || '{zone}').replace('{zone}', zone);
  select.add(new Option(label, zone), 0);
}
