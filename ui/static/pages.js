// Where the keyboard starts on a page that shows an error (WCAG 2.2 SC 3.3.1 and 2.4.3): the
// first field in error, or, for an error about the whole form, the form's first field.
(() => {
  const invalid = document.querySelector('[aria-invalid="true"]');
  const formError = document.querySelector("form .field-error");
  const first = formError && formError.closest("form").querySelector(
    "input:not([type=hidden]):not([disabled]), textarea, select, button");
  const target = invalid || first;
  if (target) target.focus();
})();
