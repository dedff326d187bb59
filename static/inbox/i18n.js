// The page's translations: Django's JavaScriptCatalog (/jsi18n/, loaded by base.html before
// any module) defines gettext, ngettext and interpolate globally. Without it (a page that
// does not load the catalog) the English source text shows.

const fallbackGettext = (text) => text;
const fallbackNgettext = (singular, plural, count) => (count === 1 ? singular : plural);
const fallbackInterpolate = (format, values, named) =>
  named
    ? format.replace(/%\(\w+\)s/g, (match) => String(values[match.slice(2, -2)]))
    : format.replace(/%s/g, () => String(values.shift()));

export const gettext = window.gettext || fallbackGettext;
export const ngettext = window.ngettext || fallbackNgettext;
export const interpolate = window.interpolate || fallbackInterpolate;
