/** <saifu-pay-button>: submits to the shop's own endpoint, which redirects the page to Saifu. */
export declare class SaifuPayButton extends HTMLElement {
  static formAssociated: true;
  /** `en` or `ja`, from the lang attribute of the element or its ancestors. */
  readonly language: 'en' | 'ja';
}
declare global {
  interface HTMLElementTagNameMap { 'saifu-pay-button': SaifuPayButton }
}
