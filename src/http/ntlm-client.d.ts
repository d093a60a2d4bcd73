// @ewsjs/ntlm-client ships no type declarations; these cover the three functions restq uses.
declare module '@ewsjs/ntlm-client' {
  export interface Type2Message {
    flags: number;
    encoding: 'ascii' | 'ucs2';
    version: 1 | 2;
    challenge: Buffer;
    targetName: string;
    targetInfo?: { parsed: Record<string, string>; buffer: Buffer };
  }
  const ntlm: {
    /** Returns the header value "NTLM <base64>". */
    createType1Message(workstation?: string, target?: string): string;
    /** Accepts "NTLM <base64>" or the bare base64 text. */
    decodeType2Message(header: string): Type2Message;
    /** Returns the header value "NTLM <base64>"; NTLMv2 when the challenge negotiates it. */
    createType3Message(type2: Type2Message, username: string, password: string, workstation?: string, target?: string): string;
  };
  export default ntlm;
}
