// Entry of the <script> bundle (dist/centrifuge.js): the global `Centrifuge` is
// the client class, with the rest of the API as its properties
// (Centrifuge.Subscription, Centrifuge.ErrorCode, ...).
import * as api from './index';

export default Object.assign(api.Centrifuge, api);
