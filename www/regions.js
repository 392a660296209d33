// Canadian provinces and territories and US states (ISO 3166-2 codes) with their names in English
// and French, for the checkout's region select. Intl.DisplayNames names countries but not their
// subdivisions, hence this table.
//
// Sources: Canada's official bilingual names of the provinces and territories (Natural Resources
// Canada, Geographical Names Board of Canada, "Translation of the names of the provinces and
// territories"); US states in French as in Unicode CLDR's French subdivision names
// (common/subdivisions/fr.xml, e.g. usca "Californie", usnm "Nouveau-Mexique").

/** [ISO 3166-2 code, English, French] per country (ISO 3166-1 alpha-2). */
export const REGIONS = {
  CA: [
    ['AB', 'Alberta', 'Alberta'], ['BC', 'British Columbia', 'Colombie-Britannique'], ['MB', 'Manitoba', 'Manitoba'],
    ['NB', 'New Brunswick', 'Nouveau-Brunswick'], ['NL', 'Newfoundland and Labrador', 'Terre-Neuve-et-Labrador'],
    ['NS', 'Nova Scotia', 'Nouvelle-Écosse'], ['NT', 'Northwest Territories', 'Territoires du Nord-Ouest'],
    ['NU', 'Nunavut', 'Nunavut'], ['ON', 'Ontario', 'Ontario'], ['PE', 'Prince Edward Island', 'Île-du-Prince-Édouard'],
    ['QC', 'Quebec', 'Québec'], ['SK', 'Saskatchewan', 'Saskatchewan'], ['YT', 'Yukon', 'Yukon'],
  ],
  US: [
    ['AL', 'Alabama', 'Alabama'], ['AK', 'Alaska', 'Alaska'], ['AZ', 'Arizona', 'Arizona'], ['AR', 'Arkansas', 'Arkansas'],
    ['CA', 'California', 'Californie'], ['CO', 'Colorado', 'Colorado'], ['CT', 'Connecticut', 'Connecticut'],
    ['DE', 'Delaware', 'Delaware'], ['DC', 'District of Columbia', 'district de Columbia'], ['FL', 'Florida', 'Floride'],
    ['GA', 'Georgia', 'Géorgie'], ['HI', 'Hawaii', 'Hawaï'], ['ID', 'Idaho', 'Idaho'], ['IL', 'Illinois', 'Illinois'],
    ['IN', 'Indiana', 'Indiana'], ['IA', 'Iowa', 'Iowa'], ['KS', 'Kansas', 'Kansas'], ['KY', 'Kentucky', 'Kentucky'],
    ['LA', 'Louisiana', 'Louisiane'], ['ME', 'Maine', 'Maine'], ['MD', 'Maryland', 'Maryland'],
    ['MA', 'Massachusetts', 'Massachusetts'], ['MI', 'Michigan', 'Michigan'], ['MN', 'Minnesota', 'Minnesota'],
    ['MS', 'Mississippi', 'Mississippi'], ['MO', 'Missouri', 'Missouri'], ['MT', 'Montana', 'Montana'],
    ['NE', 'Nebraska', 'Nebraska'], ['NV', 'Nevada', 'Nevada'], ['NH', 'New Hampshire', 'New Hampshire'],
    ['NJ', 'New Jersey', 'New Jersey'], ['NM', 'New Mexico', 'Nouveau-Mexique'], ['NY', 'New York', 'État de New York'],
    ['NC', 'North Carolina', 'Caroline du Nord'], ['ND', 'North Dakota', 'Dakota du Nord'], ['OH', 'Ohio', 'Ohio'],
    ['OK', 'Oklahoma', 'Oklahoma'], ['OR', 'Oregon', 'Oregon'], ['PA', 'Pennsylvania', 'Pennsylvanie'],
    ['RI', 'Rhode Island', 'Rhode Island'], ['SC', 'South Carolina', 'Caroline du Sud'], ['SD', 'South Dakota', 'Dakota du Sud'],
    ['TN', 'Tennessee', 'Tennessee'], ['TX', 'Texas', 'Texas'], ['UT', 'Utah', 'Utah'], ['VT', 'Vermont', 'Vermont'],
    ['VA', 'Virginia', 'Virginie'], ['WA', 'Washington', 'État de Washington'], ['WV', 'West Virginia', 'Virginie-Occidentale'],
    ['WI', 'Wisconsin', 'Wisconsin'], ['WY', 'Wyoming', 'Wyoming'],
  ],
};

/**
 * The subdivisions of `country` as `[code, name]` in `language` (`fr` or `en`), sorted by name in
 * that language (so "Île-du-Prince-Édouard" sorts among the I's in French); null when the country
 * has no list here.
 */
export function regions(country, language) {
  const list = REGIONS[country];
  if (!list) return null;
  const named = list.map(([code, en, fr]) => [code, language === 'fr' ? fr : en]);
  const collator = new Intl.Collator(language, { sensitivity: 'base' });
  return named.sort((a, b) => collator.compare(a[1].replace(/^(État de|district de) /i, ''), b[1].replace(/^(État de|district de) /i, '')));
}
