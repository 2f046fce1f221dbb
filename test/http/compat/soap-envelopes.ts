// SuperOffice's documented SOAP 1.2 requests, verbatim but for the values, for the compat tests
// (test/http/compat/superoffice-soap.test.ts against the routes, test/http/compat-daemon.test.ts
// against the daemon).

/** The Ticket in SuperOffice's samples. */
export const SAMPLE_TICKET = '7T:1234abcxyzExample==';

export const xmlEscape = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The documented TestSmtpServer request (CustomerService, Services88); smtpUri and from are escaped. */
export function testSmtpEnvelope(
  smtpUri: string,
  from: string,
  useStored: string,
  ticket: string = SAMPLE_TICKET,
): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope
 xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope"
 xmlns:SOAP-ENC="http://www.w3.org/2003/05/soap-encoding"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
 xmlns:xsd="http://www.w3.org/2001/XMLSchema"
 xmlns:NetServerServices882="http://schemas.microsoft.com/2003/10/Serialization/Arrays"
 xmlns:NetServerServices881="http://schemas.microsoft.com/2003/10/Serialization/"
 xmlns:CustomerService="http://www.superoffice.net/ws/crm/NetServer/Services88">
  <CustomerService:ApplicationToken>1234567-1234-9876</CustomerService:ApplicationToken>
  <CustomerService:Credentials>
    <CustomerService:Ticket>${ticket}</CustomerService:Ticket>
  </CustomerService:Credentials>
 <SOAP-ENV:Body>
   <CustomerService:TestSmtpServer>
    <CustomerService:SmtpUri xsi:type="xsd:string">${xmlEscape(smtpUri)}</CustomerService:SmtpUri>
    <CustomerService:From xsi:type="xsd:string">${xmlEscape(from)}</CustomerService:From>
    <CustomerService:UseStoredPassword xsi:type="xsd:boolean">${useStored}</CustomerService:UseStoredPassword>
   </CustomerService:TestSmtpServer>

 </SOAP-ENV:Body>
</SOAP-ENV:Envelope>
`;
}

export interface SoapServiceAuth {
  server: string;
  port: string;
  username: string;
  password: string;
  /** Default '' (the sample's value). */
  authType?: string;
}

/**
 * The documented SaveEMailAccount request (EMail, Services87). Only passwords are escaped: the other
 * values go in as given, so a test can put an entity into them. A null side is sent as xsi:nil.
 */
export function saveEMailAccountEnvelope(
  id: string,
  address: string,
  incoming: SoapServiceAuth | null,
  outgoing: SoapServiceAuth,
): string {
  const auth = (name: string, a: SoapServiceAuth | null) =>
    a === null
      ? `     <EMail:${name} xsi:nil="true"/>`
      : `     <EMail:${name} xsi:type="EMail:ServiceAuth">
      <EMail:ServiceAuthId xsi:type="xsd:int">0</EMail:ServiceAuthId>
      <EMail:Server xsi:type="xsd:string">${a.server}</EMail:Server>
      <EMail:Port xsi:type="xsd:int">${a.port}</EMail:Port>
      <EMail:AuthType xsi:type="xsd:string">${a.authType ?? ''}</EMail:AuthType>
      <EMail:Username xsi:type="xsd:string">${a.username}</EMail:Username>
      <EMail:Password xsi:type="xsd:string">${xmlEscape(a.password)}</EMail:Password>
     </EMail:${name}>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope
 xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope"
 xmlns:SOAP-ENC="http://www.w3.org/2003/05/soap-encoding"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
 xmlns:xsd="http://www.w3.org/2001/XMLSchema"
 xmlns:NetServerServices872="http://schemas.microsoft.com/2003/10/Serialization/Arrays"
 xmlns:NetServerServices871="http://schemas.microsoft.com/2003/10/Serialization/"
 xmlns:EMail="http://www.superoffice.net/ws/crm/NetServer/Services87">
  <EMail:ApplicationToken>1234567-1234-9876</EMail:ApplicationToken>
  <EMail:Credentials>
    <EMail:Ticket>${SAMPLE_TICKET}</EMail:Ticket>
  </EMail:Credentials>
 <SOAP-ENV:Body>
   <EMail:SaveEMailAccount>
    <EMail:EMailAccount xsi:type="EMail:EMailAccount">
     <EMail:EMailAccountId xsi:type="xsd:int">${id}</EMail:EMailAccountId>
     <EMail:EMailAddress xsi:type="xsd:string">${address}</EMail:EMailAddress>
     <EMail:AssociateId xsi:type="xsd:int">0</EMail:AssociateId>
${auth('IncomingCredentials', incoming)}
${auth('OutgoingCredentials', outgoing)}
     <EMail:AccountStatus xsi:type="xsd:short">0</EMail:AccountStatus>
     <EMail:ErrorCount xsi:type="xsd:int">0</EMail:ErrorCount>
     <EMail:ErrorReason xsi:type="xsd:string"></EMail:ErrorReason>
    </EMail:EMailAccount>
   </EMail:SaveEMailAccount>

 </SOAP-ENV:Body>
</SOAP-ENV:Envelope>
`;
}
