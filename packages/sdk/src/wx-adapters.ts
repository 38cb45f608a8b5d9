import { HuiliuError } from './errors.ts';
import type { HttpAdapter } from './http.ts';
import type { StorageAdapter } from './storage.ts';
import type { WxApi } from './wx-api.ts';

/**
 * HttpAdapter over `wx.request` and `wx.uploadFile`. WeChat calls `success` for every HTTP status and
 * `fail` only when no answer came; the body is requested as text (dataType other than 'json') so errors
 * and answers are parsed in one place.
 */
export function createWxHttp(wx: WxApi): HttpAdapter {
  return {
    request(req) {
      return new Promise((resolve, reject) => {
        wx.request({
          url: req.url,
          method: req.method,
          header: { ...req.headers },
          ...(req.body === undefined ? {} : { data: req.body }),
          dataType: 'text',
          responseType: 'text',
          success: (res) => resolve({ status: res.statusCode, body: typeof res.data === 'string' ? res.data : JSON.stringify(res.data) }),
          fail: (res) => reject(new Error(res.errMsg)),
        });
      });
    },

    upload(req) {
      const file = req.file;
      if (!('path' in file)) {
        // wx.uploadFile only reads local files; the bytes would have to be written to USER_DATA_PATH first.
        return Promise.reject(
          new HuiliuError('invalid_input', 'in a mini-program, upload a local file: { path: tempFilePath } from wx.chooseMedia or wx.chooseMessageFile'),
        );
      }
      return new Promise((resolve, reject) => {
        const task = wx.uploadFile({
          url: req.url,
          filePath: file.path,
          name: req.field,
          header: { ...req.headers },
          success: (res) => resolve({ status: res.statusCode, body: res.data }),
          fail: (res) => reject(new Error(res.errMsg)),
        });
        const onProgress = req.onProgress;
        if (onProgress && typeof task?.onProgressUpdate === 'function') {
          task.onProgressUpdate((p) => onProgress(Math.min(1, p.progress / 100)));
        }
      });
    },
  };
}

/**
 * StorageAdapter over wx.getStorageSync / setStorageSync (10 MB per mini-program, 1 MB per key). Storage
 * errors (full, unavailable) are swallowed: the chat still works, it forgets on restart.
 */
export function createWxStorage(wx: WxApi): StorageAdapter {
  return {
    get(key) {
      try {
        const value = wx.getStorageSync(key);
        // An absent key reads as '' in WeChat.
        return typeof value === 'string' && value !== '' ? value : null;
      } catch {
        return null;
      }
    },
    set(key, value) {
      try {
        wx.setStorageSync(key, value);
      } catch {
        // quota: keep going in memory
      }
    },
    remove(key) {
      try {
        if (wx.removeStorageSync) wx.removeStorageSync(key);
        else wx.setStorageSync(key, '');
      } catch {
        // nothing to do
      }
    },
  };
}
