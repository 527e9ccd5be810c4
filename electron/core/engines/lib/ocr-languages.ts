/**
 * The embedded engine's `language` setting: which characters the recogniser may choose.
 * PP-OCRv6's one multilingual dictionary (18 708 characters: Latin with accents, Greek,
 * Chinese, Japanese kana, symbols) reads many languages at once, and its mistakes are
 * often lookalikes from another script (`口` for `O`, `ē` for `e`). Naming the language
 * restricts the arg-max to that language's letters plus digits, punctuation and symbols,
 * which removes those mistakes. PP-OCRv4's dictionary is Chinese + ASCII with a few
 * accents: it supports `auto`, `en` and `zh` only.
 */

export interface OcrLanguage {
  label: string;
  /** Letters beyond ASCII (Latin-script languages), or a whole script class (others). */
  letters: string;
  /** The ASCII letters are allowed too (false for scripts whose capitals look Latin). */
  ascii: boolean;
  /**
   * Pairs `xy…`: lookalike x from another script counts as y (the recogniser reads Greek
   * capitals mostly as the Latin letters they look like).
   */
  folds?: string;
  /** Which recognisers' dictionaries hold these letters. */
  recognizers: ReadonlyArray<'v4' | 'v6'>;
}

const LATIN_V6: Array<'v4' | 'v6'> = ['v6'];

export const OCR_LANGUAGES = {
  auto: { label: 'any (no restriction)', letters: '', ascii: true, recognizers: ['v4', 'v6'] },
  en: { label: 'English', letters: '', ascii: true, recognizers: ['v4', 'v6'] },
  fr: { label: 'French', letters: 'àâæçéèêëîïôœùûüÿÀÂÆÇÉÈÊËÎÏÔŒÙÛÜŸ', ascii: true, recognizers: LATIN_V6 },
  de: { label: 'German', letters: 'äöüßÄÖÜ', ascii: true, recognizers: LATIN_V6 },
  es: { label: 'Spanish', letters: 'áéíóúüñÁÉÍÓÚÜÑ', ascii: true, recognizers: LATIN_V6 },
  it: { label: 'Italian', letters: 'àèéìíîòóùúÀÈÉÌÍÎÒÓÙÚ', ascii: true, recognizers: LATIN_V6 },
  pt: { label: 'Portuguese', letters: 'áâãàçéêíóôõúüÁÂÃÀÇÉÊÍÓÔÕÚÜ', ascii: true, recognizers: LATIN_V6 },
  nl: { label: 'Dutch', letters: 'áéíóúàèëïöüÁÉÍÓÚÀÈËÏÖÜ', ascii: true, recognizers: LATIN_V6 },
  latin: { label: 'any Latin-script language', letters: '\\p{Script=Latin}', ascii: true, recognizers: LATIN_V6 },
  el: {
    label: 'Greek (unaccented: the dictionary has no tonos; Latin lookalikes read as Greek)',
    letters: '\\p{Script=Greek}',
    ascii: false,
    folds: 'AΑBΒEΕZΖHΗIΙKΚMΜNΝOΟPΡTΤYΥXΧoοpρvνuυxχkκiι',
    recognizers: LATIN_V6,
  },
  zh: { label: 'Chinese (with Latin)', letters: '\\p{Script=Han}', ascii: true, recognizers: ['v4', 'v6'] },
  ja: { label: 'Japanese (with Latin)', letters: '\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}ー', ascii: true, recognizers: LATIN_V6 },
} as const satisfies Record<string, OcrLanguage>;

export type OcrLanguageCode = keyof typeof OCR_LANGUAGES;
export const OCR_LANGUAGE_CODES = Object.keys(OCR_LANGUAGES) as [OcrLanguageCode, ...OcrLanguageCode[]];

/**
 * The RegExp source (u flag) a recognised character must match for this language, or
 * undefined for no restriction. Digits, punctuation and symbols (€, £, ©, %) always pass.
 */
export function foldChars(code: OcrLanguageCode): string | undefined {
  const language: OcrLanguage = OCR_LANGUAGES[code];
  return language.folds;
}

export function allowedCharsPattern(code: OcrLanguageCode): string | undefined {
  if (code === 'auto') return undefined;
  const language: OcrLanguage = OCR_LANGUAGES[code];
  return `^[${language.ascii ? 'A-Za-z' : ''}${language.letters}\\p{N}\\p{P}\\p{S}]$`;
}
